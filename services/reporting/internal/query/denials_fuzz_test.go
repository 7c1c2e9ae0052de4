package query

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDenialRequestValidators feeds any page size, reason names and page
// token to the checks GetDenials and GetSpend add: they never panic,
// refuse exactly the bad values in short messages, and continue only from
// a position a denials token of the same request carries.
func FuzzDenialRequestValidators(f *testing.F) {
	scope := DenialFingerprint(DenialScope{Filter: acme, Reasons: []string{"insufficient_tokens"}})
	f.Add(int32(0), "insufficient_tokens", "", DenialCursor(scope, DenialPos{At: 1767225600, Part: 2, Seq: 7}).Token(), "project")
	f.Add(int32(0), "", "", DenialCursor(scope, DenialPos{At: 5, Part: -1, Seq: 7}).Token(), "")
	f.Add(int32(0), "", "", Cursor{Scope: scope, Key: 3, User: "denials_05_1"}.Token(), "")
	f.Add(int32(1001), "", "budget_exceeded", Cursor{Scope: scope, Key: 3, User: "ann"}.Token(), "")
	f.Add(int32(-1), strings.Repeat("r", 300), "\xff", DenialCursor(scope, DenialPos{Part: 32}).Token(), strings.Repeat("k", 65))
	f.Add(int32(1000), "x", "y", strings.Repeat("A", 400), "\xff")
	f.Fuzz(func(t *testing.T, size int32, r1, r2, token, key string) {
		var c Check
		n := c.PageSize("page_size", size)
		c.Reasons("reasons", []string{r1, r2})
		before := c.DenialPage("page_token", token, scope)
		c.AttributeKey("attribute_key", key)
		fields := checkInvalid(t, c.Err(), "page_size", "reasons[0]", "reasons[1]", "page_token", "attribute_key")
		require.Equal(t, size < 0 || size > MaxPageSize, fields["page_size"])
		require.True(t, n >= 1 && n <= MaxPageSize)
		require.Equal(t, r1 == "", fields["reasons[0]"])
		require.Equal(t, r2 == "", fields["reasons[1]"])
		if before != nil {
			require.False(t, fields["page_token"])
			require.Equal(t, DenialCursor(scope, *before).Token(), token, "only a token the service writes is followed")
		}
	})
}
