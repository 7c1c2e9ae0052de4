package privacy

import (
	"errors"
	"flag"
)

// Bounds of -user-hash-key.
const (
	MinKey = 16
	MaxKey = 1024
)

// RegisterKey adds -user-hash-key to fs.
func RegisterKey(fs *flag.FlagSet, key *string) {
	fs.StringVar(key, "user-hash-key", "", "secret keying every pseudonym of users, devices, event ids and personal attributes (16 to 1024 bytes, the same in every service; required)")
}

// CheckKey refuses a missing, short or oversized key. The key is always
// required: every organisation that has not set its personal-data setting
// (every new one among them) is pseudonymised, and one set to show personal
// data can be switched back at any time, so a service cannot know at start
// that it will never need the key; without it pseudonyms could be recomputed
// by anyone.
func CheckKey(key string) error {
	switch {
	case key == "":
		return errors.New("-user-hash-key is required: organisations that do not show personal data see keyed pseudonyms")
	case len(key) < MinKey:
		return errors.New("-user-hash-key must be at least 16 bytes")
	case len(key) > MaxKey:
		return errors.New("-user-hash-key must be at most 1024 bytes")
	}
	return nil
}
