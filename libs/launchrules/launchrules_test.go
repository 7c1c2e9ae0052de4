package launchrules

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// eventIDPattern is what ValidEventID implements.
var eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$`)

func TestValidEventIDMatchesPattern(t *testing.T) {
	ids := []string{
		"", "a", "abcdefg", "abcdefgh", "0bcdefgh", "Zbcdefgh", "-bcdefgh", ".bcdefgh", "_bcdefgh", ":bcdefgh",
		"a-._:xyz", "a-._:xy", "abc defgh", "abcdefg\n", "abcdefgh\x00", "abcdéfgh", "ébcdefgh",
		"6f1d1c3e-9c1b-4c43-a1a8-2f4a5c9b7d10", "bench-grpc-1-000000000042",
		"a" + strings.Repeat("b", 126), "a" + strings.Repeat("b", 127), "a" + strings.Repeat("b", 128),
		"abcdefg/", "abcdefg+", "abcdefg@", "abcdefg[", "abcdefg`", "abcdefg{",
	}
	alphabet := "aZ09-._:/ +@[`{\x00\xff\u00e9"
	r := rand.New(rand.NewPCG(1, 2))
	valid := "aZ09-._:"
	for i := range 20000 {
		// Half from the allowed characters only (lengths around the
		// bounds), half from any.
		chars := alphabet
		if i%2 == 0 {
			chars = valid
		}
		var b strings.Builder
		for range r.IntN(140) {
			b.WriteByte(chars[r.IntN(len(chars))])
		}
		ids = append(ids, b.String())
	}
	matched := 0
	for _, id := range ids {
		if eventIDPattern.MatchString(id) {
			matched++
		}
		if got, want := ValidEventID(id), eventIDPattern.MatchString(id); got != want {
			t.Errorf("ValidEventID(%q) = %v, the pattern says %v", id, got, want)
		}
	}
	if matched < len(ids)/10 {
		t.Fatalf("only %d of %d ids are valid: the test hardly checks acceptance", matched, len(ids))
	}
}
