package query

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUserTotalsAfterCursor(t *testing.T) {
	t.Parallel()
	after := &Cursor{Scope: 1, Key: 20089, User: "bob"} // 2025-01-01 in days since 1970
	tests := []struct {
		o      Order
		having string
		keys   []any
	}{
		{Order{Limit: 3}, "\nHAVING total_tokens < ? OR (total_tokens = ? AND user_id > ?)", []any{int64(20089), int64(20089), "bob"}},
		{Order{Asc: true}, "\nHAVING total_tokens > ? OR (total_tokens = ? AND user_id > ?)", []any{int64(20089), int64(20089), "bob"}},
		{Order{By: SortDaysUsed}, "\nHAVING days_used < ? OR (days_used = ? AND user_id > ?)", []any{uint64(20089), uint64(20089), "bob"}},
		{Order{By: SortLastUsed}, "\nHAVING last_day < toDate(?) OR (last_day = toDate(?) AND user_id > ?)", []any{"2025-01-01", "2025-01-01", "bob"}},
		{Order{By: SortName}, "\nHAVING user_id > ?", []any{"bob"}},
		{Order{By: SortName, Asc: true}, "\nHAVING user_id < ?", []any{"bob"}},
	}
	for _, tt := range tests {
		sql, args := UserTotals(acme, nil, tt.o, after)
		require.Contains(t, sql, "GROUP BY user_id"+tt.having+"\nORDER BY", tt.o)
		require.Equal(t, tt.keys, args[len(args)-len(tt.keys):], tt.o)
		require.Equal(t, countPlaceholders(sql), len(args))
	}
	sql, _ := UserTotals(acme, nil, Order{}, nil)
	require.NotContains(t, sql, "HAVING")
}

// TestPageUsers walks pages of users with tied keys, by name(id), and
// finds each once in the order of the whole list.
func TestPageUsers(t *testing.T) {
	t.Parallel()
	var users []UserTotal
	for i := range 7 {
		users = append(users, UserTotal{UserID: fmt.Sprintf("u%d", i), Tokens: int64(10 * (i % 3)), Days: uint64(i % 2)})
	}
	name := func(id string) string { return "p-" + string(rune('z'-id[1]+'0')) } // reverses the order of ids
	for _, o := range []Order{{}, {Asc: true}, {By: SortDaysUsed}, {By: SortName}, {By: SortName, Asc: true}} {
		all, next := PageUsers(users, o, nil, 9, name)
		require.Nil(t, next)
		require.Len(t, all, len(users))
		var walked []UserTotal
		var c *Cursor
		for pages := 0; pages == 0 || c != nil; pages++ {
			require.Less(t, pages, 5)
			page, nextC := PageUsers(users, Order{By: o.By, Asc: o.Asc, Limit: 2}, c, 9, name)
			walked = append(walked, page...)
			c = nextC
			if c != nil {
				require.Equal(t, uint64(9), c.Scope)
				require.Equal(t, name(page[len(page)-1].UserID), c.User, "a cursor holds the name shown, not the id")
			}
		}
		require.Equal(t, all, walked, "%+v", o)
	}
	byTokens, _ := PageUsers(users, Order{}, nil, 0, name)
	require.Equal(t, []string{"u5", "u2", "u4", "u1", "u6", "u3", "u0"}, ids(byTokens), "ties by name: u5 is p-u, u2 is p-x")
}

func ids(users []UserTotal) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.UserID
	}
	return out
}
