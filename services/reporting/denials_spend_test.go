package reporting_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// moneyFixture is a small log of packs in two currencies and none, charges
// split across them, an expiry, and refusals of every kind, in two
// organisations; both reports are asserted against it by hand.
type moneyFixture struct {
	acme, globex v1.ReportingServiceClient
	today        time.Time
}

func (f moneyFixture) day(n int) string { return f.today.AddDate(0, 0, -n).Format(time.DateOnly) }

func startMoneyFixture(t *testing.T) moneyFixture {
	t.Helper()
	natsURL, _ := testkit.NATS(t)
	showPersonalData(t, natsURL, "acme")
	svc := startServiceWith(t, natsURL, nil)
	js := logAs(t, natsURL, "admin") // the fixture writes ledger and usage events
	today := time.Now().UTC().Truncate(24 * time.Hour)
	ago := func(days int) time.Time { return today.AddDate(0, 0, -days).Add(time.Hour) }
	type ev struct {
		org, team string
		at        time.Time
		payload   any
	}
	pack := func(id string, tokens, price int64, currency string) *v1.Event_PackAdded {
		return &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: id, Tokens: tokens, UnitPriceMicros: price, Currency: currency,
			PurchasedAt: timestamppb.New(ago(60)), ExpiresAt: timestamppb.New(ago(-300))}}
	}
	charge := func(user, product, project string, split ...*v1.PackSplit) *v1.Event_WindowCharged {
		var tokens int64
		for _, s := range split {
			tokens += s.GetTokens()
		}
		attrs := map[string]string{}
		if project != "" {
			attrs["project"] = project
		}
		return &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{UserId: user, ProductCode: product, Tokens: tokens, Split: split, Attributes: attrs}}
	}
	deny := func(user, product string, reason v1.DenyReason, tokens int64) *v1.Event_LaunchDenied {
		return &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{UserId: user, ProductCode: product, ProductVersion: "2026", DeviceId: "pc-" + user, Reason: reason, TokensRequired: tokens}}
	}
	split := func(id string, n int64) *v1.PackSplit { return &v1.PackSplit{PackId: id, Tokens: n} }
	events := []ev{
		{"acme", "design", ago(60), pack("p-eur", 100, 2_000_000, "EUR")},
		{"acme", "design", ago(60), pack("p-usd", 50, 3_000_000, "USD")},
		{"acme", "design", ago(60), pack("p-old", 20, 1_000_000, "EUR")},
		{"acme", "ops", ago(60), pack("q", 40, 0, "")},
		{"globex", "design", ago(60), pack("g", 1000, 9_000_000, "EUR")},
		{"acme", "design", ago(10), charge("ann", "REVIT", "P1", split("p-old", 10))},
		{"acme", "design", ago(8), charge("ann", "FUSION", "", split("p-old", 2))},
		{"acme", "design", ago(5), &v1.Event_PackExpired{PackExpired: &v1.PackExpired{PackId: "p-old", TokensLost: 8}}},
		{"acme", "design", ago(3), charge("bob", "ACAD", "P2", split("p-eur", 5), split("p-usd", 2))},
		{"acme", "ops", ago(3), charge("cat", "REVIT", "", split("q", 10))},
		{"globex", "design", ago(3), charge("gil", "REVIT", "P1", split("g", 100))},
		{"acme", "design", ago(2), deny("eve", "REVIT", v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, 10)},
		{"acme", "design", ago(2), deny("ann", "ACAD", v1.DenyReason_DENY_REASON_PRODUCT_NOT_ALLOWED, 7)},
		{"acme", "design", ago(1), deny("ann", "REVIT", v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, 10)},
		{"acme", "design", ago(1), deny("bob", "ACAD", v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED, 7)},
		{"acme", "ops", ago(0), deny("cat", "REVIT", v1.DenyReason_DENY_REASON_POOL_SUSPENDED, 10)},
		{"globex", "design", ago(0), deny("gil", "REVIT", v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, 10)},
	}
	for i, e := range events {
		msg := &v1.Event{EventId: fmt.Sprintf("m-%02d", i), OrgId: e.org, TeamId: e.team, ServerTime: timestamppb.New(e.at)}
		switch p := e.payload.(type) {
		case *v1.Event_PackAdded:
			msg.Payload = p
		case *v1.Event_WindowCharged:
			p.WindowCharged.WindowId = msg.EventId
			p.WindowCharged.WindowStart, p.WindowCharged.WindowEnd = timestamppb.New(e.at), timestamppb.New(e.at.Add(24*time.Hour))
			msg.Payload = p
		case *v1.Event_PackExpired:
			msg.Payload = p
		case *v1.Event_LaunchDenied:
			msg.Payload = p
		}
		_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject(e.org, e.team), msg, nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(len(events)) }, 20*time.Second, 10*time.Millisecond)
	return moneyFixture{acme: client(t, svc.Addr(), acmeKey), globex: client(t, svc.Addr(), globexKey), today: today}
}

func TestGetSpend(t *testing.T) {
	t.Parallel()
	fx := startMoneyFixture(t)
	both := []string{"design", "ops"}
	spend := func(req *v1.GetSpendRequest) *v1.GetSpendResponse {
		resp, err := fx.acme.GetSpend(t.Context(), req)
		require.NoError(t, err)
		return resp
	}
	rows := func(resp *v1.GetSpendResponse) []string {
		var out []string
		for _, r := range resp.GetRows() {
			out = append(out, fmt.Sprintf("%s %s %d/%d/%d", r.GetCurrency(), r.GetKey(), r.GetAmountMicros(), r.GetTokens(), r.GetCharges()))
		}
		return out
	}
	resp := spend(&v1.GetSpendRequest{TeamIds: both})
	require.Equal(t, []string{" ops 0/10/1", "EUR design 22000000/17/3", "USD design 6000000/2/1"}, rows(resp),
		"each charge valued at its packs' prices, currencies never added")
	require.Equal(t, []string{" 0/10", "EUR 22000000/17", "USD 6000000/2"}, money(resp.GetTotalSpent()))
	require.Equal(t, []string{"EUR 8000000/8"}, money(resp.GetExpiredUnused()), "p-old's 8 unused tokens at 1 EUR")
	require.Equal(t, []string{" 0/30", "EUR 190000000/95", "USD 144000000/48"}, money(resp.GetRemaining()))

	require.Equal(t, []string{"  0/10/1", "EUR P1 10000000/10/1", "EUR P2 10000000/5/1", "EUR  2000000/2/1", "USD P2 6000000/2/1"},
		rows(spend(&v1.GetSpendRequest{TeamIds: both, GroupBy: v1.SpendGrouping_SPEND_GROUPING_ATTRIBUTE, AttributeKey: "project"})),
		"charges without the attribute under \"\"")
	require.Equal(t, []string{"EUR ann 12000000/12/2", "EUR bob 10000000/5/1", "USD bob 6000000/2/1"},
		rows(spend(&v1.GetSpendRequest{TeamIds: []string{"design"}, GroupBy: v1.SpendGrouping_SPEND_GROUPING_USER})))
	require.Equal(t, []string{"EUR ACAD 10000000/5/1", "EUR REVIT 10000000/10/1", "EUR FUSION 2000000/2/1", "USD ACAD 6000000/2/1"},
		rows(spend(&v1.GetSpendRequest{TeamIds: []string{"design"}, GroupBy: v1.SpendGrouping_SPEND_GROUPING_PRODUCT})))

	ranged := spend(&v1.GetSpendRequest{TeamIds: []string{"design"}, Range: &v1.UsageRange{FromDate: fx.day(4), ToDate: fx.day(0)}})
	require.Equal(t, []string{"EUR design 10000000/5/1", "USD design 6000000/2/1"}, rows(ranged))
	require.Empty(t, ranged.GetExpiredUnused(), "the expiry was before the range")

	gl, err := fx.globex.GetSpend(t.Context(), &v1.GetSpendRequest{TeamIds: []string{"design"}, GroupBy: v1.SpendGrouping_SPEND_GROUPING_USER})
	require.NoError(t, err)
	require.Len(t, gl.GetRows(), 1)
	require.Equal(t, int64(900_000_000), gl.GetRows()[0].GetAmountMicros(), "another organisation's packs and charges only")
	require.NotEqual(t, "gil", gl.GetRows()[0].GetKey(), "globex sees pseudonyms")

	_, err = fx.acme.GetSpend(t.Context(), &v1.GetSpendRequest{TeamIds: both, GroupBy: v1.SpendGrouping_SPEND_GROUPING_ATTRIBUTE})
	require.Equal(t, []string{"attribute_key"}, refusedFields(t, err))
	_, err = fx.acme.GetSpend(t.Context(), &v1.GetSpendRequest{TeamIds: both, GroupBy: 99, AttributeKey: strings.Repeat("k", 5000)})
	require.Equal(t, []string{"group_by"}, refusedFields(t, err))

	t.Run("pages", func(t *testing.T) {
		all := spend(&v1.GetSpendRequest{TeamIds: both, GroupBy: v1.SpendGrouping_SPEND_GROUPING_ATTRIBUTE, AttributeKey: "project"})
		require.Len(t, all.GetRows(), 5)
		require.Empty(t, all.GetNextPageToken(), "the default page holds them all")
		var paged []string
		req := &v1.GetSpendRequest{TeamIds: both, GroupBy: v1.SpendGrouping_SPEND_GROUPING_ATTRIBUTE, AttributeKey: "project", PageSize: 2}
		for pages := 1; ; pages++ {
			resp := spend(req)
			require.LessOrEqual(t, len(resp.GetRows()), 2)
			require.Equal(t, money(all.GetTotalSpent()), money(resp.GetTotalSpent()), "totals are of the whole range on every page")
			paged = append(paged, rows(resp)...)
			if resp.GetNextPageToken() == "" {
				require.Equal(t, 3, pages)
				break
			}
			req.PageToken = resp.GetNextPageToken()
		}
		require.Equal(t, rows(all), paged, "the pages, in order, are the whole answer")

		_, err := fx.acme.GetSpend(t.Context(), &v1.GetSpendRequest{TeamIds: both, PageSize: 1001})
		require.Equal(t, []string{"page_size"}, refusedFields(t, err))
		_, err = fx.acme.GetSpend(t.Context(), &v1.GetSpendRequest{TeamIds: []string{"design"}, PageSize: 2, PageToken: req.GetPageToken()})
		require.Equal(t, []string{"page_token"}, refusedFields(t, err), "a token of another request")
	})
}

func money(ms []*v1.Money) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s %d/%d", m.GetCurrency(), m.GetAmountMicros(), m.GetTokens()))
	}
	return out
}

func TestGetDenials(t *testing.T) {
	t.Parallel()
	fx := startMoneyFixture(t)
	both := []string{"design", "ops"}
	groups := func(req *v1.GetDenialsRequest) []string {
		resp, err := fx.acme.GetDenials(t.Context(), req)
		require.NoError(t, err)
		var out []string
		for _, g := range resp.GetGroups() {
			out = append(out, fmt.Sprintf("%s %d/%d/%d", g.GetKey(), g.GetDenials(), g.GetUsers(), g.GetTokensRequired()))
		}
		return out
	}
	require.Equal(t, []string{fx.day(2) + " 2/2/17", fx.day(1) + " 2/2/17", fx.day(0) + " 1/1/10"}, groups(&v1.GetDenialsRequest{TeamIds: both}))
	require.Equal(t, []string{"budget_exceeded 1/1/7", "insufficient_tokens 1/1/10", "pool_suspended 1/1/10", "product_not_allowed 1/1/7", "user_not_assigned 1/1/10"},
		groups(&v1.GetDenialsRequest{TeamIds: both, GroupBy: v1.DenialGrouping_DENIAL_GROUPING_REASON}))
	require.Equal(t, []string{"design 4/3/34", "ops 1/1/10"}, groups(&v1.GetDenialsRequest{TeamIds: both, GroupBy: v1.DenialGrouping_DENIAL_GROUPING_TEAM}))
	require.Equal(t, []string{"ann 2/1/17", "bob 1/1/7", "cat 1/1/10", "eve 1/1/10"}, groups(&v1.GetDenialsRequest{TeamIds: both, GroupBy: v1.DenialGrouping_DENIAL_GROUPING_USER}))
	require.Equal(t, []string{"REVIT 2/2/20", "ACAD 1/1/7"}, groups(&v1.GetDenialsRequest{TeamIds: []string{"design"}, GroupBy: v1.DenialGrouping_DENIAL_GROUPING_PRODUCT,
		Reasons: []v1.DenyReason{v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED}}))

	user, err := fx.acme.GetDenials(t.Context(), &v1.GetDenialsRequest{TeamIds: both, GroupBy: v1.DenialGrouping_DENIAL_GROUPING_USER})
	require.NoError(t, err)
	require.Equal(t, int64(5), user.GetTotalDenials())
	require.Len(t, user.GetByReason(), 5)
	var ann []string
	for _, r := range user.GetGroups()[0].GetByReason() {
		ann = append(ann, fmt.Sprint(r.GetReason(), " ", r.GetDenials()))
	}
	require.Equal(t, []string{"DENY_REASON_INSUFFICIENT_TOKENS 1", "DENY_REASON_PRODUCT_NOT_ALLOWED 1"}, ann, "ann's refusals per reason")

	// Pages walk every refusal once, newest first.
	var seen []string
	req := &v1.GetDenialsRequest{TeamIds: both, PageSize: 2}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 3)
		resp, err := fx.acme.GetDenials(t.Context(), req)
		require.NoError(t, err)
		for _, d := range resp.GetDenials() {
			seen = append(seen, d.GetUserId()+" "+d.GetProductCode()+" "+d.GetReason().String())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	require.Equal(t, []string{"cat REVIT DENY_REASON_POOL_SUSPENDED", "bob ACAD DENY_REASON_BUDGET_EXCEEDED", "ann REVIT DENY_REASON_INSUFFICIENT_TOKENS",
		"ann ACAD DENY_REASON_PRODUCT_NOT_ALLOWED", "eve REVIT DENY_REASON_USER_NOT_ASSIGNED"}, seen)

	gl, err := fx.globex.GetDenials(t.Context(), &v1.GetDenialsRequest{TeamIds: []string{"design"}})
	require.NoError(t, err)
	require.Len(t, gl.GetDenials(), 1)
	require.NotEqual(t, "gil", gl.GetDenials()[0].GetUserId(), "globex sees pseudonyms")

	_, err = fx.acme.GetDenials(t.Context(), &v1.GetDenialsRequest{TeamIds: both, PageSize: 1001, Reasons: []v1.DenyReason{99}, GroupBy: 42,
		PageToken: strings.Repeat("x", 5000)})
	require.ElementsMatch(t, []string{"page_size", "reasons[0]", "group_by", "page_token"}, refusedFields(t, err))
	_, err = fx.acme.GetDenials(t.Context(), &v1.GetDenialsRequest{TeamIds: []string{"design"}, PageToken: req.GetPageToken()})
	require.Equal(t, []string{"page_token"}, refusedFields(t, err), "a token of another request")
}
