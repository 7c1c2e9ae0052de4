package tokenctl

import (
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The two values of the personal-data setting, as tokenctl spells them.
const (
	personalShow       = "show"
	personalPseudonyms = "pseudonyms"
)

func (a *app) personalDataCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "personal-data",
		Short: "Show or set whether your organisation's people are shown as they are or as pseudonyms",
		Long: `Every service shows your organisation's users, devices, launchers' event ids
and personal attributes (user, host, e-mail …) either as they are or as keyed
pseudonyms (u_…, d_…, e_…, a_…): in reports, exports, ledger history, budgets,
alerts and webhooks. Until your owner sets it, it is pseudonyms. Owners set it;
every change is recorded with who made it and why.`,
	}
	cmd.AddCommand(a.personalDataGetCommand(), a.personalDataSetCommand())
	return cmd
}

func (a *app) personalDataGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "get",
		Short:   "Show the setting, when it was set, by whom and why",
		Example: "  tokenctl personal-data get",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.GetPersonalData(cmd.Context(), &v1.GetPersonalDataRequest{})
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, personalDataTable(resp.GetSetting()))
		},
	}
}

func (a *app) personalDataSetCommand() *cobra.Command {
	var reason, id string
	cmd := &cobra.Command{
		Use:   "set show|pseudonyms",
		Short: "Show people as they are, or as pseudonyms (owner keys only)",
		Example: `  tokenctl personal-data set show --reason "works council agreement 2026-11"
  tokenctl personal-data set pseudonyms`,
		Args:      exactArgs("show|pseudonyms"),
		ValidArgs: []string{personalShow, personalPseudonyms},
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != personalShow && args[0] != personalPseudonyms {
				return fmt.Errorf("invalid setting %q: want %s or %s", args[0], personalShow, personalPseudonyms)
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.SetPersonalData(cmd.Context(), &v1.SetPersonalDataRequest{
				Show: args[0] == personalShow, Reason: reason, EventId: id,
			})
			if err != nil {
				return retryHint(err, id)
			}
			return a.emit(cmd, resp, personalDataTable(resp.GetSetting()))
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the record (at most 256 characters)")
	eventFlag(cmd, &id)
	return cmd
}

func personalDataTable(s *v1.PersonalDataSetting) *table {
	t := newTable("PEOPLE", "SET_AT", "BY", "REASON")
	shown := personalPseudonyms
	if s.GetShow() {
		shown = personalShow
	}
	t.add(shown, s.GetSetAt(), s.GetActor(), s.GetReason())
	return t
}
