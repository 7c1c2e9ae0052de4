package query

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tokenmeter/tokenmeter/libs/quote"
	"github.com/tokenmeter/tokenmeter/libs/subject"
)

// Maxima of report request fields besides teams (MaxTeams) and the range.
const (
	// MaxProductCodes bounds the products one report may name.
	MaxProductCodes = 1000
	// MaxProductGroup bounds a product group's length in bytes.
	MaxProductGroup = 128
	// MaxAttributeKey bounds an attribute key's length in bytes.
	MaxAttributeKey = 64
	// MaxLimit bounds limit and user_limit: a longer list pages.
	MaxLimit = 10000
	// MaxPageToken bounds a page token's length; the service's own tokens
	// are far shorter.
	MaxPageToken = 256
	// DefaultPageSize and MaxPageSize bound a list's page_size.
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// MaxReasons bounds the deny reasons one report may name.
	MaxReasons = 16
)

// Check collects the problems of a report request's fields other than its
// teams and range (NewFilter checks those).
type Check struct {
	inv InvalidError
}

// Err is nil when every field checked was good, else an *InvalidError.
func (c *Check) Err() error { return c.inv.orNil() }

// Products checks product codes (empty: every product).
func (c *Check) Products(field string, codes []string) {
	if len(codes) > MaxProductCodes {
		c.inv.add(field, "at most %d product codes", MaxProductCodes)
		return
	}
	for i, code := range codes {
		if !subject.ValidID(code) {
			c.inv.add(field+"["+strconv.Itoa(i)+"]", "%s is not a product code: 1-64 letters, digits, '-' or '_'", quote.Prefix(code))
		}
	}
}

// Group checks a product group (empty: every group).
func (c *Check) Group(field, group string) {
	switch {
	case len(group) > MaxProductGroup:
		c.inv.add(field, "at most %d bytes", MaxProductGroup)
	case !utf8.ValidString(group):
		c.inv.add(field, "must be UTF-8")
	}
}

// AttributeKey checks a required attribute key.
func (c *Check) AttributeKey(field, key string) {
	switch {
	case key == "":
		c.inv.add(field, "required, e.g. \"project\"")
	case len(key) > MaxAttributeKey:
		c.inv.add(field, "at most %d bytes", MaxAttributeKey)
	case !utf8.ValidString(key):
		c.inv.add(field, "must be UTF-8")
	}
}

// Limit checks a count where 0 means no limit.
func (c *Check) Limit(field string, n int32) {
	if n < 0 || n > MaxLimit {
		c.inv.add(field, "must be 0 (no limit) to %d, not %d", MaxLimit, n)
	}
}

// PageToken decodes token, a next_page_token of the request whose
// fingerprint is scope; nil when token is empty or bad (then recorded).
func (c *Check) PageToken(field, token string, scope uint64) *Cursor {
	if token == "" {
		return nil
	}
	cur, err := decodeCursor(token)
	switch {
	case err != nil:
		c.inv.add(field, "%s is not a page token of this service (%v)", quote.Prefix(token), err)
		return nil
	case cur.Scope != scope:
		c.inv.add(field, "belongs to another request: give the same teams, range, products and sort as the first page")
		return nil
	}
	return cur
}

// MaxTermTokens bounds a forecast's term_tokens.
const MaxTermTokens = 1_000_000_000_000

// TeamID checks one required team id.
func (c *Check) TeamID(field, id string) {
	if !subject.ValidID(id) {
		c.inv.add(field, "%s is not a team id: 1-64 letters, digits, '-' or '_', starting with a letter or digit", quote.Prefix(id))
	}
}

// Month parses an optional YYYY-MM month (zero time when empty or bad).
func (c *Check) Month(field, month string) time.Time {
	if month == "" {
		return time.Time{}
	}
	t, err := time.Parse("2006-01", month)
	if err != nil {
		c.inv.add(field, "%s is not a YYYY-MM month", quote.Prefix(month))
	}
	return t
}

// Tokens checks an optional count of tokens (0: the default).
func (c *Check) Tokens(field string, n int64) {
	if n < 0 || n > MaxTermTokens {
		c.inv.add(field, "must be 0 to %d, not %d", int64(MaxTermTokens), n)
	}
}

// PageSize checks a page_size and returns it, DefaultPageSize for 0.
func (c *Check) PageSize(field string, n int32) int {
	switch {
	case n == 0:
		return DefaultPageSize
	case n < 0 || n > MaxPageSize:
		c.inv.add(field, "must be 0 (default %d) to %d, not %d", DefaultPageSize, MaxPageSize, n)
		return DefaultPageSize
	}
	return int(n)
}

// Reasons checks deny reason names ("" stands for a value the caller sent
// that names no reason).
func (c *Check) Reasons(field string, names []string) {
	if len(names) > MaxReasons {
		c.inv.add(field, "at most %d reasons", MaxReasons)
		return
	}
	for i, n := range names {
		if n == "" {
			c.inv.add(field+"["+strconv.Itoa(i)+"]", "not a deny reason")
		}
	}
}

// DenialPage decodes a denials list's page token of the request whose
// fingerprint is scope: the refusal to continue after (nil: from the start).
func (c *Check) DenialPage(field, token string, scope uint64) *DenialPos {
	cur := c.PageToken(field, token, scope)
	if cur == nil {
		return nil
	}
	pos, ok := denialPos(cur)
	if !ok {
		c.inv.add(field, "is not a page token of this list")
		return nil
	}
	return &pos
}

// Invalid records a problem the caller found in field.
func (c *Check) Invalid(field, format string, args ...any) {
	c.inv.add(field, format, args...)
}
