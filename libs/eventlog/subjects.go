package eventlog

import "github.com/tokenmeter/tokenmeter/libs/subject"

// The names of the log, defined in libs/subject (which imports no NATS) and
// repeated here for the adapters that already hold an eventlog import.
const CatalogToken = subject.CatalogToken

// ValidID reports whether s can be an organisation or team id (subject.ValidID).
func ValidID(s string) bool { return subject.ValidID(s) }

// CheckID returns an error naming what is wrong with id (subject.CheckID).
func CheckID(kind, id string) error { return subject.CheckID(kind, id) }

// LedgerSubject is the subject of one team's pool on the LEDGER stream.
func LedgerSubject(org, team string) string { return subject.LedgerSubject(org, team) }

// CatalogSubject is the subject of an organisation's product rates on the LEDGER stream.
func CatalogSubject(org string) string { return subject.CatalogSubject(org) }

// UsageSubject is the subject of one team's launcher telemetry on the USAGE stream.
func UsageSubject(org, team string) string { return subject.UsageSubject(org, team) }

// AlertSubject is the subject of one alert kind of one team on the ALERTS stream.
func AlertSubject(org, team, kind string) string { return subject.AlertSubject(org, team, kind) }
