// Package subject names tokenmeter's event log: its streams, the subjects
// of a team's events and the ids that become their tokens. It imports no
// NATS, so the pure domain cores can name a stream or check an id.
package subject

import (
	"fmt"

	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// Stream names, as in docs/DESIGN.md; natsauth grants access by them.
const (
	LedgerStream = "LEDGER"
	UsageStream  = "USAGE"
	AlertsStream = "ALERTS"
)

// ValidID reports whether s can be used as an organisation or team id: 1 to
// 64 ASCII letters, digits, '-' or '_', starting with a letter or digit
// (^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$, checked by hand: every request checks
// one). It becomes a subject token, so no dots, wildcards or spaces. Ids
// starting with "_" are reserved for tokenmeter's own subjects (e.g. the
// catalog).
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] == '_' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// CheckID returns an error naming what is wrong with id, quoting at most a
// short prefix of it.
func CheckID(kind, id string) error {
	if id == "" {
		return fmt.Errorf("%s is required", kind)
	}
	if !ValidID(id) {
		return fmt.Errorf("%s %s must be 1-64 letters, digits, '-' or '_', starting with a letter or digit", kind, quote.Prefix(id))
	}
	return nil
}

// CatalogToken is the team token of an organisation's product catalog subject.
const CatalogToken = "_catalog"

// LedgerSubject is the subject of one team's pool on the LEDGER stream.
func LedgerSubject(org, team string) string { return "ledger." + org + "." + team }

// CatalogSubject is the subject of an organisation's product rates on the LEDGER stream.
func CatalogSubject(org string) string { return "ledger." + org + "." + CatalogToken }

// UsageSubject is the subject of one team's launcher telemetry on the USAGE stream.
func UsageSubject(org, team string) string { return "usage." + org + "." + team }

// AlertSubject is the subject of one alert kind of one team on the ALERTS stream.
func AlertSubject(org, team, kind string) string { return "alerts." + org + "." + team + "." + kind }
