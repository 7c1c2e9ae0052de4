package query

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
)

// FuzzRequestValidators feeds any request fields to the report request
// checks: they never panic, refuse only with an *InvalidError naming the
// fields checked, in messages that quote at most a short prefix of what
// they refuse, let good values through, and every page token they accept
// is one the service could have written.
func FuzzRequestValidators(f *testing.F) {
	good := Cursor{Scope: 42, Key: 17, User: "ann"}.Token()
	f.Add("design", "2025-01-01", "2025-01-31", "REVIT", "AutoCAD", int32(10), "project", good, int64(0), "2025-01")
	f.Add("bad.team", "2025-13-01", "01/02/2025", "RE VIT", strings.Repeat("g", 200), int32(-1), "", "not a token!", int64(-5), "2025-13")
	f.Add(strings.Repeat("t", 5000), strings.Repeat("9", 5000), "", "", "", int32(MaxLimit+1), strings.Repeat("k", 65), strings.Repeat("A", 300), int64(MaxTermTokens+1), "x")
	f.Add("", "2025-02-01", "2025-01-01", "\xff", "\xff", int32(0), "\xff", "AQAAAAAAAAAqIg", int64(1), "")
	f.Fuzz(func(t *testing.T, team, from, to, product, group string, limit int32, key, token string, tokens int64, month string) {
		now := time.Date(2025, 5, 15, 12, 0, 0, 0, time.UTC)
		fl, err := NewFilter("acme", []string{team, "ops"}, RangeSpec{FromDate: from, ToDate: to}, now)
		fields := checkInvalid(t, err, "team_ids[0]", "range.from_date", "range.to_date")
		if err == nil {
			require.False(t, fl.From.After(fl.To))
			for _, id := range fl.TeamIDs {
				require.True(t, eventlog.ValidID(id))
			}
		}
		require.Equal(t, !eventlog.ValidID(team), fields["team_ids[0]"], "a team id is refused exactly when it is not one")

		var c Check
		c.Products("product_codes", []string{product})
		c.Group("product_group", group)
		c.Limit("limit", limit)
		c.AttributeKey("attribute_key", key)
		c.TeamID("team_id", team)
		c.Month("term_start_month", month)
		c.Tokens("term_tokens", tokens)
		cur := c.PageToken("page_token", token, 42)
		fields = checkInvalid(t, c.Err(), "product_codes[0]", "product_group", "limit", "attribute_key", "team_id",
			"term_start_month", "term_tokens", "page_token")
		require.Equal(t, !eventlog.ValidID(product), fields["product_codes[0]"])
		require.Equal(t, limit < 0 || limit > MaxLimit, fields["limit"])
		require.Equal(t, len(group) > MaxProductGroup || !utf8.ValidString(group), fields["product_group"])
		require.Equal(t, tokens < 0 || tokens > MaxTermTokens, fields["term_tokens"])
		if cur != nil {
			require.False(t, fields["page_token"])
			again, err := decodeCursor(cur.Token())
			require.NoError(t, err)
			require.Equal(t, cur, again, "an accepted token is one the service writes")
		}
		if eventlog.ValidID(team) {
			written := Cursor{Scope: uint64(tokens), Key: tokens, User: team}
			again, err := decodeCursor(written.Token())
			require.NoError(t, err)
			require.Equal(t, written, *again)
		}
	})
}

// checkInvalid asserts err is nil or an *InvalidError about fields among
// allowed, each described in a short message; it returns the fields named.
func checkInvalid(t *testing.T, err error, allowed ...string) map[string]bool {
	t.Helper()
	named := map[string]bool{}
	if err == nil {
		return named
	}
	var inv *InvalidError
	require.True(t, errors.As(err, &inv), "want *InvalidError, got %T", err)
	require.NotEmpty(t, inv.Violations)
	for _, v := range inv.Violations {
		require.Contains(t, allowed, v.Field)
		require.NotEmpty(t, v.Description)
		require.LessOrEqual(t, len(v.Description), 200, "%s: %.300s", v.Field, v.Description)
		named[v.Field] = true
	}
	return named
}
