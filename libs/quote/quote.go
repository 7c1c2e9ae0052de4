// Package quote puts a client's value into an error message: at most a short
// prefix of it, so an answer never grows with what it refuses (a 2 MB field
// must not come back as a 4 MB error).
package quote

import (
	"strconv"
	"unicode/utf8"
)

// Runes is how many runes of a value a message shows.
const Runes = 32

// QuotedBytes bounds the quoted runes, escapes included: 32 invalid bytes
// (\xff each) would otherwise make a prefix four times as long as 32 letters.
const QuotedBytes = 64

// MaxLen bounds what Prefix returns, in bytes: QuotedBytes, the quotes, "…"
// and the length of the whole.
const MaxLen = 2 + QuotedBytes + len("…") + len(" (") + 20 + len(" bytes)")

// Prefix quotes s in Go syntax when it has at most Runes runes (and quotes
// in QuotedBytes); longer, it quotes the first of them and adds "…" and the
// full length: "abc…xyz"… (102400 bytes). The result is valid UTF-8 whatever
// s holds.
func Prefix(s string) string {
	cut, n, quoted := 0, 0, 0
	for cut < len(s) && n < Runes {
		_, size := utf8.DecodeRuneInString(s[cut:])
		q := len(strconv.Quote(s[cut:cut+size])) - 2
		if quoted+q > QuotedBytes {
			break
		}
		cut += size
		n++
		quoted += q
	}
	if cut == len(s) {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:cut]) + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// Cut shortens a message that may have taken in a client's value by other
// means (a decoder's error) to at most limit bytes, on a rune boundary,
// ending in "…" when it was cut. It is the backstop behind Prefix, not a
// substitute: it does not say how long the message was.
func Cut(msg string, limit int) string {
	if len(msg) <= limit {
		return msg
	}
	if limit < len("…") {
		return ""
	}
	end := limit - len("…")
	for end > 0 && !utf8.RuneStart(msg[end]) {
		end--
	}
	return msg[:end] + "…"
}
