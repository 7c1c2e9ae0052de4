package pool

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The ledger's limits on every number it takes, in one place. The gRPC edge
// refuses a request beyond them with InvalidArgument naming the field; the
// decisions check them again; the fold refuses an event that would break the
// pool's sums (see ErrRefused). With them no sum the pool keeps can overflow an int64: a pack
// holds at most 10^12 tokens and the fold adds purchases with a checked sum,
// so a pool would need nine million full packs to reach the int64 range, and
// every other total (debited, expired, removed, budget spending) is part of
// what was purchased.
const (
	// MaxPackTokens bounds the tokens of one pack.
	MaxPackTokens = 1_000_000_000_000 // 10^12
	// MaxPoolTokens bounds the live tokens a pool may hold after AddPack,
	// and the tokens of one adjustment or move: 1,000 full packs.
	MaxPoolTokens = 1_000_000_000_000_000 // 10^15
	// MaxUnitPriceMicros bounds a pack's price per token: one million
	// currency units.
	MaxUnitPriceMicros = 1_000_000_000_000 // 10^12
	// MaxPackValueMicros bounds tokens × unit price of one pack, so a pack's
	// value is an int64 too: 10^12 currency units.
	MaxPackValueMicros = 1_000_000_000_000_000_000 // 10^18
	// MaxDailyRate bounds a product's tokens per 24-hour window.
	MaxDailyRate = 1_000_000_000 // 10^9
	// MaxBudgetTokens bounds a budget's limit per period.
	MaxBudgetTokens = MaxPoolTokens
	// MaxCapacityUnits bounds a capacity product's size and one use of it.
	MaxCapacityUnits = 1_000_000_000 // 10^9
	// MaxProductsPerUser bounds the product codes of one assignment.
	MaxProductsPerUser = 256
	// MaxReasonLen, MaxNameLen, MaxKeyLen and MaxCurrencyLen bound text
	// (bytes): reasons, product names and groups, budget keys, currencies.
	MaxReasonLen   = 512
	MaxNameLen     = 128
	MaxKeyLen      = 256
	MaxCurrencyLen = 8
	// MaxTimeOffset bounds how far from now a given time (purchase,
	// expiry, contract end, rate start) may lie.
	MaxTimeOffset = 100 * 365 * 24 * time.Hour
)

// ErrRefused marks an event in the log that the fold does not apply because
// it would break the pool's sums (an event no decision of this ledger makes:
// appended by hand or by a faulty writer): a pack of tokens outside 1 to
// MaxPackTokens or taking the purchases past int64, a charge, removal or
// merge whose split does not add up or takes more than a pack holds, capacity
// units or a daily rate beyond their limits, a pack id already added. The
// event's id is remembered, so it is never reused, and nothing else changes:
// the pool stays as it was, its balance never negative or wrapped. The store
// logs a refused pool event and goes on folding (a refused rate leaves the
// catalog as it was). Numbers that no sum depends on (prices, budget
// limits) are held to their limits at the edge only, so history written
// before the limits replays as it was.
var ErrRefused = errors.New("event refused by the fold")

// FieldError is a command refused for one field, named as the request names it.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Is makes a FieldError an ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// CheckRange returns a FieldError unless lo <= n <= hi.
func CheckRange(field string, n, lo, hi int64) error {
	if n < lo || n > hi {
		return invalid(field, "must be %s to %s, got %d", count(lo), count(hi), n)
	}
	return nil
}

// CheckTime returns a FieldError unless t lies within MaxTimeOffset of now.
func CheckTime(field string, t, now time.Time) error {
	if d := t.Sub(now); d > MaxTimeOffset || d < -MaxTimeOffset {
		return invalid(field, "must lie within 100 years of now")
	}
	return nil
}

// CheckPrice returns a FieldError for a price out of bounds or a pack worth
// more than MaxPackValueMicros.
func CheckPrice(field string, tokens, micros int64) error {
	if err := CheckRange(field, micros, 0, MaxUnitPriceMicros); err != nil {
		return err
	}
	if micros > 0 && tokens > MaxPackValueMicros/micros {
		return invalid(field, "tokens × unit price must be at most 10^18 micros")
	}
	return nil
}

// count writes powers of ten as 10^k, other numbers plainly.
func count(n int64) string {
	if n >= 1_000_000 {
		if k := math.Log10(float64(n)); k == math.Trunc(k) {
			return "10^" + strconv.Itoa(int(k))
		}
	}
	return strconv.FormatInt(n, 10)
}

// addChecked returns a+b, or false when the sum leaves the int64 range.
func addChecked(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}
