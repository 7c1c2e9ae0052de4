package tokenctl

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) timeZoneCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "time-zone",
		Short: "Show or set the time zone your organisation's reports follow",
		Long: `Report days, date ranges, "this month" and every by-day, week or month
grouping (reports, exports, forecast, capacity usage) are dates in your
organisation's time zone, an IANA name such as Europe/Berlin; until set it is
UTC. Windows (the 24-hour launch window), pack expiry and budget periods keep
server time (UTC). Owners and admins set it; each change is recorded with who
made it.`,
	}
	cmd.AddCommand(a.timeZoneGetCommand(), a.timeZoneSetCommand())
	return cmd
}

func (a *app) timeZoneGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "get",
		Short:   "Show the time zone, when it was set and by whom",
		Example: "  tokenctl time-zone get",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.GetTimeZone(cmd.Context(), &v1.GetTimeZoneRequest{})
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, timeZoneTable(resp.GetSetting()))
		},
	}
}

func (a *app) timeZoneSetCommand() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "set ZONE",
		Short: "Set the time zone (an IANA name; owner and admin keys)",
		Example: `  tokenctl time-zone set Pacific/Auckland
  tokenctl time-zone set UTC`,
		Args: exactArgs("ZONE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.SetTimeZone(cmd.Context(), &v1.SetTimeZoneRequest{Zone: args[0], EventId: id})
			if err != nil {
				return retryHint(err, id)
			}
			return a.emit(cmd, resp, timeZoneTable(resp.GetSetting()))
		},
	}
	eventFlag(cmd, &id)
	return cmd
}

func timeZoneTable(s *v1.TimeZoneSetting) *table {
	t := newTable("ZONE", "SET_AT", "BY")
	t.add(s.GetZone(), s.GetSetAt(), s.GetActor())
	return t
}

// zone is the organisation's time zone for showing dates the ledger
// answers as instants; UTC when the key may not read it or the name is
// unknown here.
func (a *app) zone(ctx context.Context, client v1.LedgerServiceClient) *time.Location {
	resp, err := client.GetTimeZone(ctx, &v1.GetTimeZoneRequest{})
	if err != nil {
		return time.UTC
	}
	loc, err := time.LoadLocation(resp.GetSetting().GetZone())
	if err != nil {
		return time.UTC
	}
	return loc
}
