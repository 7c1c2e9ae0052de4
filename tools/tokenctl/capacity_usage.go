package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) capacityUsageCommand() *cobra.Command {
	var (
		s  scope
		by string
	)
	cmd := &cobra.Command{
		Use:   "usage TEAM PRODUCT",
		Short: "A capacity product's usage history by day, week or month",
		Long: `Units used (consumed, or checked out), returned, uses and users of one
capacity product per --by bucket over a range (at most 400 buckets), every
bucket listed (-o json: the GetCapacityUsageResponse).`,
		Example: `  tokenctl capacity usage design API-UNITS --by week --range last-3-months
  tokenctl capacity usage design FLOAT-SEAT --from 2026-01-01 -o csv`,
		Args:              exactArgs("TEAM", "PRODUCT"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &v1.GetCapacityUsageRequest{TeamId: args[0], ProductCode: args[1]}
			if by != "" {
				b, err := parseEnum[v1.CapacityBucket]("--by", by, v1.CapacityBucket_value, "CAPACITY_BUCKET_")
				if err != nil {
					return err
				}
				req.Bucket = b
			}
			rng, err := s.usageRange()
			if err != nil {
				return err
			}
			req.Range = rng
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.GetCapacityUsage(cmd.Context(), req)
			if err != nil {
				return err
			}
			t := newTable("FROM", "USED", "RETURNED", "USES", "USERS")
			for _, b := range resp.GetBuckets() {
				t.add(b.GetStartDate(), b.GetUnitsUsed(), b.GetUnitsReturned(), b.GetUses(), b.GetUsers())
			}
			t.note("%s to %s by %s: %d units used, %d returned, %d uses", resp.GetFromDate(), resp.GetToDate(),
				enumName(resp.GetBucket().String(), "CAPACITY_BUCKET_"), resp.GetUnitsUsed(), resp.GetUnitsReturned(), resp.GetUses())
			return a.emit(cmd, resp, t)
		},
	}
	f := cmd.Flags()
	f.StringVar(&by, "by", "", "bucket: "+joinNames(enumNames(v1.CapacityBucket_value, "CAPACITY_BUCKET_"))+" (default day)")
	f.StringVar(&s.rng, "range", "", "days: "+joinNames(rangeNames())+" (default last-12-months)")
	f.StringVar(&s.from, "from", "", "first day, YYYY-MM-DD (instead of --range)")
	f.StringVar(&s.to, "to", "", "last day, YYYY-MM-DD (default: today, with --from)")
	completeFlag(cmd, "by", fixed(enumNames(v1.CapacityBucket_value, "CAPACITY_BUCKET_")...))
	completeFlag(cmd, "range", fixed(rangeNames()...))
	return cmd
}
