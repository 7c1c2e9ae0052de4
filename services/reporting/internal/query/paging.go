package query

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/subject"
)

// Cursor is where a page of users ended: the sort key of its last user and
// that user's id as the caller sees it (its pseudonym, when the
// organisation sees pseudonyms, so a token never carries a hidden id). The
// next page starts after it, in the order of the sort key then the id, so
// pages never repeat or skip a user.
type Cursor struct {
	// Scope is the Fingerprint of the request the page answered.
	Scope uint64
	// Key is the sort key: tokens, days used or the last day (days since
	// 1970); 0 when sorting by name.
	Key  int64
	User string
}

// cursorVersion starts every token, so a later layout can be told apart.
const cursorVersion = 1

// Token is c as an opaque next_page_token.
func (c Cursor) Token() string {
	b := []byte{cursorVersion}
	b = binary.BigEndian.AppendUint64(b, c.Scope)
	b = binary.AppendVarint(b, c.Key)
	b = append(b, c.User...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(token string) (*Cursor, error) {
	if len(token) > MaxPageToken {
		return nil, errors.New("too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, errors.New("not base64url")
	}
	if len(b) < 1+8+1 || b[0] != cursorVersion {
		return nil, errors.New("unknown layout")
	}
	c := &Cursor{Scope: binary.BigEndian.Uint64(b[1:9])}
	key, n := binary.Varint(b[9:])
	if n <= 0 {
		return nil, errors.New("bad sort key")
	}
	c.Key, c.User = key, string(b[9+n:])
	if !subject.ValidID(c.User) {
		return nil, errors.New("bad user")
	}
	return c, nil
}

// Fingerprint identifies a by-user request apart from its page size and
// token: a token is only good for the request it came from.
func Fingerprint(f Filter, products []string, o Order) uint64 {
	h := fnv.New64a()
	write := func(s string) { _, _ = h.Write([]byte(s)); _, _ = h.Write([]byte{0}) }
	write(f.OrgID)
	for _, t := range sortedCopy(f.TeamIDs) {
		write(t)
	}
	write(f.From.Format(DateLayout))
	write(f.To.Format(DateLayout))
	write("z:" + f.zone().String())
	for _, p := range sortedCopy(products) {
		write("p:" + p)
	}
	write(strconv.Itoa(int(o.By)) + "/" + strconv.FormatBool(o.Asc))
	return h.Sum64()
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// UserKey is u's sort key under by (see Cursor.Key).
func UserKey(u UserTotal, by SortBy) int64 {
	switch by {
	case SortDaysUsed:
		return int64(u.Days)
	case SortLastUsed:
		d := time.Date(u.LastDay.Year(), u.LastDay.Month(), u.LastDay.Day(), 0, 0, 0, 0, time.UTC)
		return d.Unix() / 86400
	case SortName:
		return 0
	default:
		return u.Tokens
	}
}

// userAfter is the HAVING clause and arguments that keep the users after c
// in o's order: a later sort key, or the same key and a later user id.
func userAfter(o Order, c *Cursor) (string, []any) {
	if c == nil {
		return "", nil
	}
	col, desc := o.column(userOrder)
	cmp := map[bool]string{true: "<", false: ">"}[desc]
	if col == "user_id" {
		return "\nHAVING user_id " + cmp + " ?", []any{c.User}
	}
	var key any = c.Key
	val := "?"
	switch col {
	case "days_used":
		key = uint64(max(c.Key, 0))
	case "last_day":
		key, val = time.Unix(c.Key*86400, 0).UTC().Format(DateLayout), "toDate(?)"
	}
	return "\nHAVING " + col + " " + cmp + " " + val + " OR (" + col + " = " + val + " AND user_id > ?)", []any{key, key, c.User}
}

// PageUsers orders users by o's key then by name(user id), and returns the
// page after c (from the start when nil) of at most o.Limit users (every
// one when 0), and the cursor of the next page (nil on the last). It pages
// users whose ids the caller sees as pseudonyms: their order must not
// depend on the hidden ids.
func PageUsers(users []UserTotal, o Order, c *Cursor, scope uint64, name func(string) string) ([]UserTotal, *Cursor) {
	_, desc := o.column(userOrder)
	type row struct {
		key  int64
		name string
		u    UserTotal
	}
	rows := make([]row, len(users))
	for i, u := range users {
		rows[i] = row{UserKey(u, o.By), name(u.UserID), u}
	}
	// before says a comes first: its key first in o's direction, then its name.
	before := func(aKey int64, aName string, bKey int64, bName string) bool {
		if o.By != SortName && aKey != bKey {
			return (aKey > bKey) == desc
		}
		if o.By == SortName {
			return (aName > bName) == desc && aName != bName
		}
		return aName < bName
	}
	slices.SortFunc(rows, func(a, b row) int {
		if before(a.key, a.name, b.key, b.name) {
			return -1
		}
		if before(b.key, b.name, a.key, a.name) {
			return 1
		}
		return 0
	})
	start := 0
	if c != nil {
		start = len(rows)
		for i, r := range rows {
			if before(c.Key, c.User, r.key, r.name) {
				start = i
				break
			}
		}
	}
	rows = rows[start:]
	var next *Cursor
	if o.Limit > 0 && len(rows) > o.Limit {
		rows = rows[:o.Limit]
		last := rows[len(rows)-1]
		next = &Cursor{Scope: scope, Key: last.key, User: last.name}
	}
	out := make([]UserTotal, len(rows))
	for i, r := range rows {
		out[i] = r.u
	}
	return out, next
}
