package tokenctl

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/quote"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) capacityCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "capacity",
		Short: "Set and list capacity products: monthly allowances and returnable units",
		Long: `Besides daily-rate tokens a pool can hold capacity: exhaustible (a monthly
allowance, e.g. API units, that refreshes each UTC month and does not roll
over) or returnable (units checked out and returned, like floating seats).
Status is red at or below 20 % available. A product may have a term end
(--ends): from then on it is expired, nothing is available.`,
	}
	cmd.AddCommand(a.capacitySetCommand(), a.capacityListCommand(), a.capacityUsageCommand())
	return cmd
}

// capacityTable shows the term ends and refresh dates, instants the ledger
// keeps in UTC, as dates in the organisation's zone.
func capacityTable(balances []*v1.Balance, zone *time.Location) *table {
	now := time.Now()
	t := newTable("TEAM", "PRODUCT", "KIND", "TOTAL", "AVAILABLE", "IN_USE", "STATUS", "ENDS", "REFRESHES")
	for _, b := range balances {
		for _, c := range b.GetCapacities() {
			status := map[bool]string{false: "ok", true: "red"}[c.GetStatusRed()]
			if c.GetExpired() {
				status = "expired"
			}
			t.add(b.GetTeamId(), c.GetProductCode(), enumName(c.GetKind().String(), "CAPACITY_KIND_"), c.GetTotal(), c.GetAvailable(),
				c.GetInUse(), status, dateOr(c.GetEndsAt(), zone), dateOr(c.GetRefreshesAt(), zone))
			if note := termNote(c, now, zone); note != "" {
				t.note("%s of %s: %s", c.GetProductCode(), b.GetTeamId(), note)
			}
		}
	}
	if zone != time.UTC {
		t.note("dates in %s", zone)
	}
	return t
}

// dateOr is ts's date in zone, "-" when unset.
func dateOr(ts *timestamppb.Timestamp, zone *time.Location) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().In(zone).Format(time.DateOnly)
}

// termNote says a card's term as the seed's cards do: "ends in 30 days,
// refreshes in 12 days" (whole days, rounded up), or "expired".
func termNote(c *v1.Capacity, now time.Time, zone *time.Location) string {
	in := func(ts *timestamppb.Timestamp) int64 { return int64(math.Ceil(ts.AsTime().Sub(now).Hours() / 24)) }
	var parts []string
	switch {
	case c.GetExpired():
		parts = append(parts, "expired on "+dateOr(c.GetEndsAt(), zone))
	case c.GetEndsAt() != nil:
		parts = append(parts, fmt.Sprintf("ends in %d days", in(c.GetEndsAt())))
	}
	if c.GetRefreshesAt() != nil {
		parts = append(parts, fmt.Sprintf("refreshes in %d days", in(c.GetRefreshesAt())))
	}
	return strings.Join(parts, ", ")
}

// parseEnds reads --ends: a date (its UTC midnight) or an RFC 3339 time.
func parseEnds(v string) (*timestamppb.Timestamp, error) {
	if v == "" {
		return nil, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return timestamppb.New(d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("invalid --ends %q: want YYYY-MM-DD or an RFC 3339 time", quote.Prefix(v))
	}
	return timestamppb.New(t), nil
}

func (a *app) capacityListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list [TEAM]",
		Short: "List the capacity of one team, or of every team",
		Long: `List capacity products from the ledger's balance of one team, or of every team
without TEAM (-o json: the GetBalanceResponse or ListTeamsResponse).`,
		Example:           "  tokenctl capacity list design",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			balances, resp, err := a.balances(cmd, args)
			if err != nil {
				return err
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, capacityTable(balances, a.zone(cmd.Context(), client)))
		},
	}
}

func (a *app) capacitySetCommand() *cobra.Command {
	var kind, id, ends string
	cmd := &cobra.Command{
		Use:   "set TEAM PRODUCT UNITS --kind exhaustible|returnable",
		Short: "Set a capacity product's units for a team (0 removes it)",
		Example: `  tokenctl capacity set design API-UNITS 10000 --kind exhaustible --ends 2027-01-31
  tokenctl capacity set design FLOAT-SEAT 25 --kind returnable`,
		Args:              exactArgs("TEAM", "PRODUCT", "UNITS"),
		ValidArgsFunction: completeArgs(a.teams, nil, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			units, err := strconv.ParseInt(args[2], 10, 64)
			if err != nil || units < 0 {
				return fmt.Errorf("invalid UNITS %q: want a whole number, 0 to remove the product", args[2])
			}
			k, err := parseEnum[v1.CapacityKind]("--kind", kind, v1.CapacityKind_value, "CAPACITY_KIND_")
			if err != nil {
				return err
			}
			end, err := parseEnds(ends)
			if err != nil {
				return err
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.SetCapacity(cmd.Context(), &v1.SetCapacityRequest{EventId: id, TeamId: args[0], ProductCode: args[1], Kind: k, Units: units, EndsAt: end})
			if err != nil {
				return retryHint(err, id)
			}
			return a.emit(cmd, resp, capacityTable([]*v1.Balance{{TeamId: args[0], Capacities: []*v1.Capacity{resp.GetCapacity()}}}, a.zone(cmd.Context(), client)))
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", fmt.Sprintf("how it is consumed: %v", enumNames(v1.CapacityKind_value, "CAPACITY_KIND_")))
	completeFlag(cmd, "kind", fixed(enumNames(v1.CapacityKind_value, "CAPACITY_KIND_")...))
	cmd.Flags().StringVar(&ends, "ends", "", "end of the term, YYYY-MM-DD (UTC midnight) or RFC 3339; none when omitted (each set replaces it)")
	eventFlag(cmd, &id)
	return cmd
}
