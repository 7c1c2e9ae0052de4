package tokenctl

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// testHistory: every list command reads every page (here pages of 2), and
// transactions filters a team's history by type and time.
func testHistory(t *testing.T, s *stack) {
	env := s.env(t)
	paged := func(args ...string) string {
		t.Helper()
		r := ctlWith(t, Options{pageSize: 2}, env, args...)
		require.Equal(t, 0, r.code, "tokenctl %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.out, r.stderr)
		return r.out
	}
	var teams, packs, products []string
	for i := range 5 {
		team, pack, product := fmt.Sprintf("lgh-%d", i), fmt.Sprintf("lgh-pack-%d", i), fmt.Sprintf("LGH-%d", i)
		ok(t, env, "packs", "add", team, "p1", "10")
		ok(t, env, "packs", "add", "lgh-a", pack, fmt.Sprint(100+i))
		ok(t, env, "products", "set-rate", product, fmt.Sprint(i+1))
		ok(t, env, "budgets", "set", "lgh-a", fmt.Sprintf("lgh-budget-%d", i), "--scope", "user", "--key", "ann", "--limit", "50")
		teams, packs, products = append(teams, team), append(packs, pack), append(products, product)
	}
	ok(t, env, "users", "assign", "lgh-a", "ann", "--products", "LGH-1")
	ok(t, env, "users", "unassign", "lgh-a", "ann")

	// once returns the first cells of rows that start with prefix, failing on a repeat.
	once := func(rows [][]string, col int, prefix string) []string {
		var got []string
		seen := map[string]bool{}
		for _, r := range rows[1:] {
			if strings.HasPrefix(r[col], prefix) {
				require.False(t, seen[r[col]], "%s listed twice", r[col])
				seen[r[col]] = true
				got = append(got, r[col])
			}
		}
		return got
	}
	require.Equal(t, append(teams, "lgh-a"), once(csvRows(t, paged("teams", "list", "-o", "csv")), 0, "lgh-"))
	require.Equal(t, packs, once(csvRows(t, paged("packs", "list", "lgh-a", "-o", "csv")), 1, "lgh-pack-"))
	require.Equal(t, products, once(csvRows(t, paged("products", "list", "-o", "csv")), 0, "LGH-"))
	require.Len(t, once(csvRows(t, paged("budgets", "list", "lgh-a", "-o", "csv")), 1, "lgh-budget-"), 5)

	// The whole history, a page of 2 at a time: 5 packs, 5 budgets, an assignment and an unassignment.
	var all v1.ListTransactionsResponse
	protoOut(t, paged("transactions", "lgh-a", "-o", "json"), &all)
	count := map[string]int{}
	for _, tx := range all.GetTransactions() {
		count[tx.GetType()]++
	}
	require.Equal(t, 5, count["pack_added"])
	require.Equal(t, 5, count["budget_set"])
	require.Equal(t, 1, count["user_assigned"])
	require.Equal(t, 1, count["user_unassigned"])
	require.GreaterOrEqual(t, count["product_rate_set"], 5, "the organisation's rate changes")

	rows := csvRows(t, paged("transactions", "lgh-a", "--type", "user_assigned,budget_set", "--type", "user_unassigned", "-o", "csv"))
	typ, detail := column(t, rows[0], "type"), column(t, rows[0], "detail")
	require.Len(t, rows, 1+7)
	require.Equal(t, "user_assigned", rows[6][typ])
	require.Equal(t, "assigned to LGH-1", rows[6][detail])
	require.Equal(t, "user_unassigned", rows[7][typ])
	require.Equal(t, "budget lgh-budget-0: user ann, 50 tokens a month, soft cap", rows[1][detail])

	require.Len(t, tableRows(t, paged("transactions", "lgh-a", "--limit", "3")), 1+3, "--limit caps rows across pages")
	require.Len(t, csvRows(t, paged("transactions", "lgh-a", "--to", "2000-01-01", "-o", "csv")), 1, "nothing before 2000")
	require.Len(t, csvRows(t, paged("transactions", "lgh-a", "--from", "2999-01-01", "-o", "csv")), 1, "nothing after 2999")
	org := csvRows(t, paged("transactions", "-o", "csv"))
	require.Equal(t, products, once(org, column(t, org[0], "product"), "LGH-"), "without TEAM: the rate changes")

	r := ctl(t, env, "transactions", "lgh-a", "--type", "budget_changed")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "types[0]")
}
