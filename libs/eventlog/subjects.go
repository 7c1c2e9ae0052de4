package eventlog

import (
	"fmt"
	"regexp"
)

// idPattern is what an organisation, team, user or product id may look like: it
// becomes a subject token, so no dots, wildcards or spaces. Ids starting with
// "_" are reserved for tokenmeter's own subjects (e.g. the catalog).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// ValidID reports whether s can be used as an organisation or team id.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// CheckID returns an error naming what is wrong with id.
func CheckID(kind, id string) error {
	if id == "" {
		return fmt.Errorf("%s is required", kind)
	}
	if !ValidID(id) {
		return fmt.Errorf("%s %q must be 1-64 letters, digits, '-' or '_', starting with a letter or digit", kind, id)
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
