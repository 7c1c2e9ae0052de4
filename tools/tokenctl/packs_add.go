package tokenctl

import (
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) packsAddCommand() *cobra.Command {
	var (
		source, price, currency, purchased, expires, contractEnd, reason, id string
	)
	cmd := &cobra.Command{
		Use:   "add TEAM PACK_ID TOKENS",
		Short: "Add a pack of tokens to a team: a purchase, a true-up or an adjustment",
		Long: `Add TOKENS to TEAM's pool as pack PACK_ID. --source says what it is: a
purchase (default), a true-up (tokens used beyond the contract, paid after
the fact) or an adjustment. The pack expires 12 months after --purchased
(default now), or at --contract-end if earlier, unless --expires says when.`,
		Example: `  tokenctl packs add design design-2026-q3 3000 --price 3.00 --currency USD
  tokenctl packs add design trueup-2026 250 --source true-up --reason "true-up for Q2"
  tokenctl packs add civil civil-2026 1200 --purchased 2026-01-15 --contract-end 2026-12-31`,
		Args:              exactArgs("TEAM", "PACK_ID", "TOKENS"),
		ValidArgsFunction: completeArgs(a.teams, nil, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &v1.AddPackRequest{TeamId: args[0], PackId: args[1], Currency: currency, Reason: reason}
			var err error
			if req.Tokens, err = parseTokens("TOKENS", args[2]); err != nil {
				return err
			}
			if req.Source, err = parseEnum[v1.PackSource]("--source", source, v1.PackSource_value, "PACK_SOURCE_"); err != nil {
				return err
			}
			if price != "" {
				if req.UnitPriceMicros, err = parseMicros("--price", price); err != nil {
					return err
				}
			}
			if req.PurchasedAt, err = parseWhen("--purchased", purchased); err != nil {
				return err
			}
			if req.ExpiresAt, err = parseWhen("--expires", expires); err != nil {
				return err
			}
			if req.ContractEnd, err = parseWhen("--contract-end", contractEnd); err != nil {
				return err
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			req.EventId = eventID(id)
			resp, err := client.AddPack(cmd.Context(), req)
			if err != nil {
				return retryHint(err, req.EventId)
			}
			t := packsTable(args[0], []*v1.Pack{resp.GetPack()})
			b := resp.GetBalance()
			t.note("%s now has %d tokens available of %d live (event %s)", args[0], b.GetAvailable(), b.GetLive(), req.EventId)
			return a.emit(cmd, resp, t)
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", "purchase", fmt.Sprintf("what the pack is: %v", enumNames(v1.PackSource_value, "PACK_SOURCE_")))
	f.StringVar(&price, "price", "", "unit price per token, e.g. 3.00")
	f.StringVar(&currency, "currency", "", "currency of the price, e.g. USD")
	f.StringVar(&purchased, "purchased", "", "purchase date (2026-04-01) or RFC 3339 time (default: now)")
	f.StringVar(&expires, "expires", "", "expiry date or time (default: 12 months after purchase, or the contract end if earlier)")
	f.StringVar(&contractEnd, "contract-end", "", "end of the contract: the pack expires by then")
	f.StringVar(&reason, "reason", "", "note kept with the event")
	eventFlag(cmd, &id)
	completeFlag(cmd, "source", fixed(enumNames(v1.PackSource_value, "PACK_SOURCE_")...))
	return cmd
}
