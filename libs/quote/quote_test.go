package quote_test

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/quote"
)

func TestPrefix(t *testing.T) {
	require.Equal(t, `"ann"`, quote.Prefix("ann"))
	require.Equal(t, `""`, quote.Prefix(""))
	exact := strings.Repeat("a", quote.Runes)
	require.Equal(t, `"`+exact+`"`, quote.Prefix(exact))
	require.Equal(t, `"`+exact+`"… (102400 bytes)`, quote.Prefix(strings.Repeat("a", 100<<10)))
	require.Equal(t, `"`+strings.Repeat("é", quote.Runes)+`"… (66 bytes)`, quote.Prefix(strings.Repeat("é", 33)), "runes, not bytes")
	require.Equal(t, `"\x00\xff"`, quote.Prefix("\x00\xff"), "control and invalid bytes escaped")
	require.Equal(t, `"`+strings.Repeat(`\xff`, 16)+`"… (40 bytes)`, quote.Prefix(strings.Repeat("\xff", 40)),
		"escapes count: at most 64 quoted bytes")
	require.LessOrEqual(t, len(quote.Prefix(strings.Repeat("\U0010ffff", 40))), quote.MaxLen)
}

func TestCut(t *testing.T) {
	require.Equal(t, "short", quote.Cut("short", 10))
	require.Equal(t, "abcdefg…", quote.Cut(strings.Repeat("abcdefghij", 3), 10))
	require.Equal(t, "éé…", quote.Cut("éééééé", 8), "never inside a rune")
	require.Empty(t, quote.Cut("abcdef", 2))
}

// FuzzPrefix holds Prefix to its bound and to valid UTF-8, and Cut to its limit.
func FuzzPrefix(f *testing.F) {
	for _, s := range []string{"", "ann", strings.Repeat("x", 33), strings.Repeat("\U0010ffff", 40), strings.Repeat("\xff", 100), "\x00\x01é\u2028"} {
		f.Add(s, 64)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		q := quote.Prefix(s)
		if len(q) > quote.MaxLen {
			t.Fatalf("Prefix is %d bytes, bound %d: %s", len(q), quote.MaxLen, q)
		}
		if !utf8.ValidString(q) {
			t.Fatalf("Prefix is not UTF-8: %q", q)
		}
		if utf8.RuneCountInString(s) <= quote.Runes && q != strconv.Quote(s) {
			t.Fatalf("short value not quoted whole: %s", q)
		}
		limit = limit & 0xffff
		if c := quote.Cut(s, limit); len(c) > limit || (len(s) <= limit && c != s) {
			t.Fatalf("Cut(%d) = %d bytes", limit, len(c))
		}
	})
}
