package tokenctl

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func testLedger(t *testing.T, s *stack) {
	env := s.env(t)

	// Products: set a rate (table), list (json, csv).
	rows := tableRows(t, ok(t, env, "products", "set-rate", "LGR-CAD", "7", "--name", "Ledger CAD", "--group", "CAD", "--effective", "2026-01-01"))
	require.Equal(t, []string{"PRODUCT", "NAME", "GROUP", "DAILY_RATE", "EFFECTIVE_FROM"}, rows[0])
	require.Equal(t, []string{"LGR-CAD", "Ledger", "CAD", "CAD", "7"}, rows[1][:5])
	ok(t, env, "products", "set-rate", "LGR-CAD", "8") // name and group stay
	var products v1.ListProductsResponse
	protoOut(t, ok(t, env, "products", "list", "-o", "json"), &products)
	var found *v1.Product
	for _, p := range products.GetProducts() {
		if p.GetProductCode() == "LGR-CAD" {
			found = p
		}
	}
	require.NotNil(t, found)
	require.Equal(t, int64(8), found.GetDailyRate())
	require.Equal(t, "Ledger CAD", found.GetName())
	require.Equal(t, "CAD", found.GetGroup())
	csvp := csvRows(t, ok(t, env, "products", "list", "-o", "csv"))
	require.Equal(t, []string{"product", "name", "group", "daily_rate", "effective_from"}, csvp[0])
	require.Contains(t, csvp, []string{"LGR-CAD", "Ledger CAD", "CAD", "8", csvp[rowOf(t, csvp, "LGR-CAD")][4]})

	// Packs: a purchase, a true-up, a refund, a removal, a move.
	out := ok(t, env, "packs", "add", "lgr-a", "lgr-a-2026", "1000", "--price", "3.25", "--currency", "USD", "--purchased", "2026-01-15")
	rows = tableRows(t, out)
	require.Equal(t, []string{"lgr-a", "lgr-a-2026", "purchase", "1000", "1000", "3.25", "USD"}, rows[1][:7])
	require.Regexp(t, `lgr-a now has 1000 tokens available of 1000 live \(event [0-9a-f-]{36}\)`, out)
	var added v1.AddPackResponse
	protoOut(t, ok(t, env, "packs", "add", "lgr-a", "lgr-a-trueup", "200", "--source", "true-up", "--event-id", "lgr-trueup-1", "-o", "json"), &added)
	require.Equal(t, v1.PackSource_PACK_SOURCE_TRUE_UP, added.GetPack().GetSource())
	require.Equal(t, int64(1200), added.GetBalance().GetAvailable())
	// The same event id again changes nothing.
	protoOut(t, ok(t, env, "packs", "add", "lgr-a", "lgr-a-trueup", "200", "--source", "true-up", "--event-id", "lgr-trueup-1", "-o", "json"), &added)
	require.Equal(t, int64(1200), added.GetBalance().GetAvailable())
	packs := csvRows(t, ok(t, env, "packs", "list", "lgr-a", "-o", "csv"))
	require.Equal(t, "team", packs[0][0])
	require.Len(t, packs, 3)

	ok(t, env, "packs", "remove", "lgr-a", "50", "--reason", "duplicate", "--refund")
	ok(t, env, "packs", "remove", "lgr-a", "30", "--reason", "correction")
	out = ok(t, env, "packs", "move", "lgr-a", "lgr-b", "120", "--reason", "peak")
	require.Contains(t, out, "moved 120 tokens from lgr-a to lgr-b")

	// The balance tokenctl prints is the ledger's, in every format.
	want, err := s.ledger.GetBalance(t.Context(), &v1.GetBalanceRequest{TeamId: "lgr-a"})
	require.NoError(t, err)
	wb := want.GetBalance()
	require.Equal(t, int64(1000), wb.GetAvailable())
	rows = tableRows(t, ok(t, env, "balance", "lgr-a"))
	require.Equal(t, []string{"TEAM", "AVAILABLE", "PURCHASED", "USED", "EXPIRED", "REMOVED", "LIVE", "NEXT_EXPIRY", "SUSPENDED"}, rows[0])
	require.Equal(t, []string{"lgr-a", itoa(wb.GetAvailable()), itoa(wb.GetPurchased()), itoa(wb.GetUsed()), itoa(wb.GetExpired()),
		itoa(wb.GetRemoved()), itoa(wb.GetLive())}, rows[1][:7])
	var got v1.GetBalanceResponse
	protoOut(t, ok(t, env, "balance", "lgr-a", "-o", "json"), &got)
	require.Equal(t, wb.GetAvailable(), got.GetBalance().GetAvailable())
	require.Equal(t, wb.GetRemoved(), got.GetBalance().GetRemoved())
	require.Len(t, got.GetBalance().GetPacks(), len(wb.GetPacks()))
	bc := csvRows(t, ok(t, env, "balance", "lgr-a", "-o", "csv"))
	require.Equal(t, itoa(wb.GetAvailable()), bc[1][column(t, bc[0], "available")])

	// Teams: every team with its balance; a merge suspends the first.
	var teams v1.ListTeamsResponse
	protoOut(t, ok(t, env, "teams", "list", "-o", "json"), &teams)
	byTeam := map[string]*v1.Balance{}
	for _, b := range teams.GetTeams() {
		byTeam[b.GetTeamId()] = b
	}
	require.Equal(t, int64(1000), byTeam["lgr-a"].GetAvailable())
	require.Equal(t, int64(120), byTeam["lgr-b"].GetAvailable())
	out = ok(t, env, "teams", "merge", "lgr-b", "lgr-a", "--reason", "one team")
	require.Contains(t, out, "merged lgr-b into lgr-a: 120 tokens and 0 users moved")
	tl := csvRows(t, ok(t, env, "teams", "list", "-o", "csv"))
	b := tl[rowOf(t, tl, "lgr-b")]
	require.Equal(t, "yes", b[column(t, tl[0], "suspended")])
	require.Equal(t, "0", b[column(t, tl[0], "available")])
	require.Equal(t, "1120", tl[rowOf(t, tl, "lgr-a")][column(t, tl[0], "available")])
	rows = tableRows(t, ok(t, env, "balance"))
	require.Equal(t, "TEAM", rows[0][0])

	// Users.
	rows = tableRows(t, ok(t, env, "users", "assign", "lgr-a", "ann", "--products", "LGR-CAD,REVIT"))
	require.Equal(t, []string{"lgr-a", "ann", "LGR-CAD,REVIT", "yes"}, rows[1])
	// A retried unassignment (the same --event-id) answers as the first did.
	for range 2 {
		ok(t, env, "users", "unassign", "lgr-a", "ann", "-o", "json", "--event-id", "lgr-unassign-ann-1")
	}
	require.NotEqual(t, 0, ctl(t, env, "users", "unassign", "lgr-a", "ann").code, "a new id: ann is not assigned any more")

	// Budgets and capacity.
	rows = tableRows(t, ok(t, env, "budgets", "set", "lgr-a", "ann-month", "--scope", "user", "--key", "ann", "--limit", "150", "--hard"))
	require.Equal(t, []string{"lgr-a", "ann-month", "user", "-", "ann", "150", "month", "yes"}, rows[1][:8])
	var budgets v1.ListBudgetsResponse
	protoOut(t, ok(t, env, "budgets", "list", "lgr-a", "-o", "json"), &budgets)
	require.Len(t, budgets.GetBudgets(), 1)
	require.True(t, budgets.GetBudgets()[0].GetHard())
	ok(t, env, "budgets", "delete", "lgr-a", "ann-month")
	require.Len(t, csvRows(t, ok(t, env, "budgets", "list", "lgr-a", "-o", "csv")), 1, "only the header")

	rows = tableRows(t, ok(t, env, "capacity", "set", "lgr-a", "SEATS", "10", "--kind", "returnable"))
	require.Equal(t, []string{"lgr-a", "SEATS", "returnable", "10", "10", "0", "ok", "-", "-"}, rows[1])
	cc := csvRows(t, ok(t, env, "capacity", "list", "-o", "csv"))
	require.Contains(t, cc, []string{"lgr-a", "SEATS", "returnable", "10", "10", "0", "ok", "-", "-"})

	// Transactions: the pool's history, oldest first.
	var txs v1.ListTransactionsResponse
	protoOut(t, ok(t, env, "transactions", "lgr-a", "-o", "json"), &txs)
	require.GreaterOrEqual(t, len(txs.GetTransactions()), 5)
	require.Len(t, tableRows(t, ok(t, env, "transactions", "lgr-a", "--limit", "2")), 3)
}

// rowOf is the index of the row whose first cell is key.
func rowOf(t *testing.T, rows [][]string, key string) int {
	t.Helper()
	for i, r := range rows {
		if len(r) > 0 && r[0] == key {
			return i
		}
	}
	t.Fatalf("no row %s in %v", key, rows)
	return -1
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
