package tokenctl

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) denialsCommand() *cobra.Command {
	var (
		s               scope
		by              string
		reasons, prods  []string
		list            bool
		limit, pageSize int
	)
	cmd := &cobra.Command{
		Use:   "denials",
		Short: "Refused launches by day, team, user, product or reason; --list shows each one",
		Long: `Counts the launches the ledger refused, and why (insufficient tokens, a budget,
a user not assigned, a product not allowed, an unknown product, a suspended
pool), grouped with --by. With --list every refusal is listed instead, newest
first, read page by page (at most --limit). With -o json the answer is one
GetDenialsResponse holding the groups and every refusal read.`,
		Example: `  tokenctl report denials --range this-month --by reason
  tokenctl report denials --list --reason insufficient-tokens --limit 50 -o csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := denialsRequest(by, reasons, prods)
			if err != nil {
				return err
			}
			client, teams, rng, err := a.reportScope(cmd, &s)
			if err != nil {
				return err
			}
			req.TeamIds, req.Range = teams, rng
			if pageSize < 1 || pageSize > 1000 {
				return fmt.Errorf("--page-size must be 1 to 1000")
			}
			resp, err := denialPages(cmd.Context(), client, req, list, limit, pageSize)
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, denialsTable(resp, list))
		},
	}
	a.scopeFlags(cmd, &s)
	f := cmd.Flags()
	f.StringVar(&by, "by", "", "group by: "+joinNames(denialGroupNames())+" (default day)")
	f.StringSliceVar(&reasons, "reason", nil, "only these reasons: "+joinNames(denyReasonNames()))
	f.StringSliceVar(&prods, "product", nil, "only these products")
	f.BoolVar(&list, "list", false, "list each refusal, newest first, instead of the groups")
	f.IntVar(&limit, "limit", 0, "with --list: at most this many refusals (0: all)")
	f.IntVar(&pageSize, "page-size", 1000, "refusals read per call while walking the pages (at most 1000)")
	completeFlag(cmd, "by", fixed(denialGroupNames()...))
	completeFlag(cmd, "reason", fixed(denyReasonNames()...))
	completeFlag(cmd, "product", a.products)
	return cmd
}

func denialGroupNames() []string {
	return enumNames(v1.DenialGrouping_value, "DENIAL_GROUPING_")
}

func denyReasonNames() []string { return enumNames(v1.DenyReason_value, "DENY_REASON_") }

// denialsRequest is the request the flags say, checked before any call.
func denialsRequest(by string, reasons, products []string) (*v1.GetDenialsRequest, error) {
	req := &v1.GetDenialsRequest{ProductCodes: sortedSet(products)}
	if by != "" {
		g, err := parseEnum[v1.DenialGrouping]("--by", by, v1.DenialGrouping_value, "DENIAL_GROUPING_")
		if err != nil {
			return nil, err
		}
		req.GroupBy = g
	}
	for _, r := range sortedSet(reasons) {
		reason, err := parseEnum[v1.DenyReason]("--reason", r, v1.DenyReason_value, "DENY_REASON_")
		if err != nil {
			return nil, err
		}
		req.Reasons = append(req.Reasons, reason)
	}
	return req, nil
}

// denialPages reads the groups and, with list, every refusal up to limit
// (0: all) as one answer; without list, the first page only.
func denialPages(ctx context.Context, c v1.ReportingServiceClient, req *v1.GetDenialsRequest, list bool, limit, pageSize int) (*v1.GetDenialsResponse, error) {
	var first *v1.GetDenialsResponse
	most := limit
	if !list {
		most = 1
	}
	denials, err := allPages(ctx, pageSize, most, func(ctx context.Context, size int32, token string) ([]*v1.Denial, string, error) {
		req.PageSize, req.PageToken = size, token
		resp, err := c.GetDenials(ctx, req)
		if first == nil {
			first = resp
		}
		return resp.GetDenials(), resp.GetNextPageToken(), err
	})
	if err != nil {
		return nil, err
	}
	if !list {
		denials = nil
	}
	first.Denials, first.NextPageToken = denials, ""
	return first, nil
}

func denialsTable(resp *v1.GetDenialsResponse, list bool) *table {
	var reasons []string
	for _, r := range resp.GetByReason() {
		reasons = append(reasons, fmt.Sprintf("%s %d", enumName(r.GetReason().String(), "DENY_REASON_"), r.GetDenials()))
	}
	note := func(t *table) {
		t.note("%d refused launches from %s to %s: %s", resp.GetTotalDenials(), resp.GetFromDate(), resp.GetToDate(), strings.Join(reasons, ", "))
	}
	if list {
		t := newTable("AT", "TEAM", "USER", "PRODUCT", "VERSION", "DEVICE", "REASON", "TOKENS_REQUIRED", "RENEWAL")
		for _, d := range resp.GetDenials() {
			t.add(d.GetAt(), d.GetTeamId(), d.GetUserId(), d.GetProductCode(), d.GetProductVersion(), d.GetDeviceId(),
				enumName(d.GetReason().String(), "DENY_REASON_"), d.GetTokensRequired(), d.GetRenewal())
		}
		note(t)
		return t
	}
	t := newTable("KEY", "DENIALS", "USERS", "TOKENS_REQUIRED", "REASONS")
	for _, g := range resp.GetGroups() {
		var rs []string
		for _, r := range g.GetByReason() {
			rs = append(rs, fmt.Sprintf("%s %d", enumName(r.GetReason().String(), "DENY_REASON_"), r.GetDenials()))
		}
		t.add(g.GetKey(), g.GetDenials(), g.GetUsers(), g.GetTokensRequired(), strings.Join(rs, ", "))
	}
	note(t)
	return t
}
