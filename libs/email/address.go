package email

import (
	"fmt"
	"net/mail"

	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// Limits of a recipient list.
const (
	// MaxRecipients is the most addresses one alert endpoint or schedule names.
	MaxRecipients = 10
	// MaxAddress is the longest address taken (RFC 5321's path limit).
	MaxAddress = 254
)

// CheckRecipients refuses an empty or too long list, a repeated address and
// anything but a bare address (no display name, no group), quoting at most
// a short prefix of what it refuses.
func CheckRecipients(to []string) error {
	if len(to) == 0 || len(to) > MaxRecipients {
		return fmt.Errorf("%d addresses: must be 1 to %d", len(to), MaxRecipients)
	}
	seen := map[string]bool{}
	for i, a := range to {
		if len(a) > MaxAddress {
			return fmt.Errorf("address %d is %d bytes: at most %d", i+1, len(a), MaxAddress)
		}
		parsed, err := mail.ParseAddress(a)
		if err != nil || parsed.Name != "" || parsed.Address != a {
			return fmt.Errorf("address %d %s: must be a bare e-mail address (name@domain)", i+1, quote.Prefix(a))
		}
		if seen[a] {
			return fmt.Errorf("address %d %s: given twice", i+1, quote.Prefix(a))
		}
		seen[a] = true
	}
	return nil
}
