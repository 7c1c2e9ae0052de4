package query

import (
	"context"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// DenialGroup is what refusals are counted by, mirroring
// tokenmeter.v1.DenialGrouping.
type DenialGroup int

// Denial groupings.
const (
	DenyByDay DenialGroup = iota
	DenyByTeam
	DenyByUser
	DenyByProduct
	DenyByReason
)

// denialKeys are the grouping expressions; the SQL takes them from here,
// never from a request.
var denialKeys = map[DenialGroup]string{
	DenyByTeam: "team_id", DenyByUser: "user_id",
	DenyByProduct: "product_code", DenyByReason: "deny_reason",
}

// DenialScope is which refusals a report reads: f, narrowed to some reasons
// (names as in launches.deny_reason) and products when given.
// key is what g groups by: a day is the date in the filter's zone.
func (d DenialScope) key(g DenialGroup) string {
	if g == DenyByDay {
		return "toString(" + dayOf(d.Filter, "at") + ")"
	}
	return denialKeys[g]
}

type DenialScope struct {
	Filter
	Reasons, Products []string
}

func (d DenialScope) where() (string, []any) {
	sql := scope(d.Filter, "at") + " AND outcome = 'denied'" + inList("deny_reason", len(d.Reasons)) + inList("product_code", len(d.Products))
	return sql, strArgs(strArgs(scopeArgs(d.Filter), d.Reasons), d.Products)
}

// DenialCount is the refusals of one group key (and, with Reason set, of
// one reason within it).
type DenialCount struct {
	Key, Reason    string
	Denials, Users uint64
	TokensRequired int64
}

// DenialGroups builds the refusals of d per key of g: days in order, the
// others most refusals first.
func DenialGroups(d DenialScope, g DenialGroup) (string, []any) {
	where, args := d.where()
	order := "denials DESC, k"
	if g == DenyByDay {
		order = "k"
	}
	sql := `SELECT ` + d.key(g) + ` AS k, count() AS denials, uniqExact(user_id) AS users, sum(tokens) AS required
FROM launches_v2
WHERE ` + where + `
GROUP BY k
ORDER BY ` + order
	return sql, args
}

// DenialReasons builds the refusals of d per key of g and reason.
func DenialReasons(d DenialScope, g DenialGroup) (string, []any) {
	where, args := d.where()
	sql := `SELECT ` + d.key(g) + ` AS k, deny_reason, count() AS denials
FROM launches_v2
WHERE ` + where + `
GROUP BY k, deny_reason
ORDER BY k, denials DESC, deny_reason`
	return sql, args
}

// DenialGroups returns the refusals of d per key of g.
func (r *Reader) DenialGroups(ctx context.Context, d DenialScope, g DenialGroup) ([]DenialCount, error) {
	sql, args := DenialGroups(d, g)
	var out []DenialCount
	err := r.each(ctx, "denial groups", sql, args, func(rows driver.Rows) error {
		var c DenialCount
		if err := rows.Scan(&c.Key, &c.Denials, &c.Users, &c.TokensRequired); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// DenialReasons returns the refusals of d per key of g and reason.
func (r *Reader) DenialReasons(ctx context.Context, d DenialScope, g DenialGroup) ([]DenialCount, error) {
	sql, args := DenialReasons(d, g)
	var out []DenialCount
	err := r.each(ctx, "denial reasons", sql, args, func(rows driver.Rows) error {
		var c DenialCount
		if err := rows.Scan(&c.Key, &c.Reason, &c.Denials); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// Denial is one refused launch; Seq is its LEDGER stream sequence.
type Denial struct {
	Seq                                                       uint64
	EventID, TeamID, UserID, Product, Version, Device, Reason string
	At                                                        time.Time
	TokensRequired                                            int64
	Renewal                                                   bool
}

// DenialList builds at most limit refusals of d, newest (highest sequence)
// first, from below beforeSeq when it is not 0.
func DenialList(d DenialScope, beforeSeq uint64, limit int) (string, []any) {
	where, args := d.where()
	if beforeSeq > 0 {
		where += " AND seq < ?"
		args = append(args, beforeSeq)
	}
	sql := `SELECT seq, event_id, team_id, user_id, product_code, product_version, device_id, deny_reason, at, tokens, renewal
FROM launches_v2
WHERE ` + where + `
ORDER BY seq DESC
LIMIT ` + strconv.Itoa(max(limit, 1))
	return sql, args
}

// DenialList returns at most limit refusals of d below beforeSeq (0: from
// the newest).
func (r *Reader) DenialList(ctx context.Context, d DenialScope, beforeSeq uint64, limit int) ([]Denial, error) {
	sql, args := DenialList(d, beforeSeq, limit)
	var out []Denial
	err := r.each(ctx, "denial list", sql, args, func(rows driver.Rows) error {
		var x Denial
		var renewal uint8
		if err := rows.Scan(&x.Seq, &x.EventID, &x.TeamID, &x.UserID, &x.Product, &x.Version, &x.Device,
			&x.Reason, &x.At, &x.TokensRequired, &renewal); err != nil {
			return err
		}
		x.Renewal = renewal == 1
		out = append(out, x)
		return nil
	})
	return out, err
}

// denialMark stands in a denial cursor's user: the key is a sequence.
const denialMark = "denials"

// DenialCursor is the token of the page after the refusal at seq.
func DenialCursor(scope, seq uint64) Cursor {
	return Cursor{Scope: scope, Key: int64(seq), User: denialMark}
}

// DenialFingerprint identifies a denials request apart from its grouping,
// page size and token: a token is only good for the list it came from.
func DenialFingerprint(d DenialScope) uint64 {
	h := fnv.New64a()
	write := func(s string) { _, _ = h.Write([]byte(s)); _, _ = h.Write([]byte{0}) }
	write("denials")
	write(strconv.FormatUint(Fingerprint(d.Filter, d.Products, Order{}), 16))
	for _, r := range sortedCopy(d.Reasons) {
		write(r)
	}
	return h.Sum64()
}

// DenialRow is one refused launch for an export, with its date in the
// filter's zone.
type DenialRow struct {
	Denial
	Day time.Time
}

// DenialRows builds every refusal of d, oldest first.
func DenialRows(d DenialScope) (string, []any) {
	where, args := d.where()
	sql := `SELECT ` + dayOf(d.Filter, "at") + ` AS d, seq, event_id, team_id, user_id, product_code, product_version, device_id, deny_reason, at, tokens, renewal
FROM launches_v2
WHERE ` + where + `
ORDER BY seq`
	return sql, args
}

// EachDenial calls fn with every refusal of d, oldest first; the row is
// reused from call to call.
func (r *Reader) EachDenial(ctx context.Context, d DenialScope, fn func(*DenialRow) error) error {
	sql, args := DenialRows(d)
	var x DenialRow
	return r.each(ctx, "denial rows", sql, args, func(rows driver.Rows) error {
		var renewal uint8
		if err := rows.Scan(&x.Day, &x.Seq, &x.EventID, &x.TeamID, &x.UserID, &x.Product, &x.Version, &x.Device,
			&x.Reason, &x.At, &x.TokensRequired, &renewal); err != nil {
			return err
		}
		x.Renewal = renewal == 1
		return fn(&x)
	})
}
