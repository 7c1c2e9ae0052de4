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

// MaxLen bounds what Prefix returns, in bytes: Runes runes quoted (an
// escaped rune is at most 10 bytes, \U0010ffff), the quotes, "…" and the
// length of the whole.
const MaxLen = 2 + Runes*10 + len("…") + len(" (") + 20 + len(" bytes)")

// Prefix quotes s in Go syntax when it has at most Runes runes; longer, it
// quotes the first Runes and adds "…" and the full length:
// "abc…xyz"… (102400 bytes). The result is valid UTF-8 whatever s holds.
func Prefix(s string) string {
	cut, n := 0, 0
	for cut < len(s) && n < Runes {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
		n++
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
