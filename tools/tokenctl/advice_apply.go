package tokenctl

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) adviceApplyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "advice",
		Short: "Apply licensing advice in one step ('move to subscription'), or undo it",
		Long: `'tokenctl report advice' lists the advice; 'advice apply' grants the user the
named subscription for the products advised to move (all of them, or
--products), and 'advice undo' revokes it.`,
	}
	var products []string
	var ends, id string
	apply := &cobra.Command{
		Use:               "apply TEAM USER",
		Short:             "Move a user to a named subscription for the products the advice says to move",
		Example:           "  tokenctl advice apply design dev\n  tokenctl advice apply design dev --products REVIT --ends 2027-12-31",
		Args:              exactArgs("TEAM", "USER"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			codes, err := a.advisedMoves(cmd, args[0], args[1], sortedSet(products))
			if err != nil {
				return err
			}
			end, err := parseWhen("--ends", ends)
			if err != nil {
				return err
			}
			return a.grant(cmd, &v1.GrantSubscriptionRequest{EventId: eventID(id), TeamId: args[0], UserId: args[1],
				ProductCodes: codes, EndsAt: end, Reason: "licensing advice: move to subscription"})
		},
	}
	apply.Flags().StringSliceVar(&products, "products", nil, "only these of the advised products")
	apply.Flags().StringVar(&ends, "ends", "", "when the subscription ends: a date or an RFC 3339 time (default: until revoked)")
	eventFlag(apply, &id)
	undo := a.subscriptionsRevokeCommand()
	undo.Use, undo.Short, undo.Example = "undo TEAM USER", "Undo an applied advice: revoke the user's named subscription", "  tokenctl advice undo design dev"
	cmd.AddCommand(apply, undo)
	return cmd
}

// advisedMoves is the products the advice says user of team should move to
// a subscription, narrowed to only when given.
func (a *app) advisedMoves(cmd *cobra.Command, team, user string, only []string) ([]string, error) {
	client, err := a.reportingClient(cmd)
	if err != nil {
		return nil, err
	}
	resp, err := client.AdviseLicensing(cmd.Context(), &v1.AdviseLicensingRequest{TeamIds: []string{team}})
	if err != nil {
		return nil, err
	}
	if resp.GetPseudonymous() {
		return nil, errors.New("this organisation's reports show pseudonyms, not user ids: grant the subscription by the real id with 'tokenctl subscriptions grant'")
	}
	var codes []string
	for _, ad := range resp.GetAdvice() {
		if ad.GetTeamId() == team && ad.GetUserId() == user && ad.GetAction() == v1.Recommendation_RECOMMENDATION_MOVE_TO_SUBSCRIPTION &&
			(len(only) == 0 || slices.Contains(only, ad.GetProductCode())) {
			codes = append(codes, ad.GetProductCode())
		}
	}
	if len(codes) == 0 {
		return nil, fmt.Errorf("no 'move to subscription' advice for %s in %s%s: see 'tokenctl report advice --team %s'", user, team, onlyText(only), team)
	}
	return sortedSet(codes), nil
}

func onlyText(only []string) string {
	if len(only) == 0 {
		return ""
	}
	return fmt.Sprintf(" for %v", only)
}
