package query

import (
	"context"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/libs/subject"
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

// Denial is one refused launch; Seq is its sequence in the LEDGER stream
// of partition Part (-1: the one-stream layout).
type Denial struct {
	Seq                                                       uint64
	Part                                                      int8
	EventID, TeamID, UserID, Product, Version, Device, Reason string
	At                                                        time.Time
	TokensRequired                                            int64
	Renewal                                                   bool
}

// DenialPos is a refusal's place in the list: newest first by server time
// (seconds), then by stream partition and sequence. Sequences of different
// partition streams are unrelated, so time leads: the list is the same
// whatever the log's partitioning, but for refusals of one second in
// different streams.
type DenialPos struct {
	At   int64 // Unix seconds
	Part int8
	Seq  uint64
}

// Pos is x's place in the list.
func (x Denial) Pos() DenialPos { return DenialPos{At: x.At.Unix(), Part: x.Part, Seq: x.Seq} }

// denialOrder is the list's order, newest first.
const denialOrder = "at DESC, stream_part DESC, seq DESC"

// DenialList builds at most limit refusals of d, newest first, from after
// before when it is set.
func DenialList(d DenialScope, before *DenialPos, limit int) (string, []any) {
	where, args := d.where()
	if before != nil {
		where += " AND (toUInt32(at) < ? OR toUInt32(at) = ? AND (stream_part < ? OR stream_part = ? AND seq < ?))"
		args = append(args, uint32(before.At), uint32(before.At), before.Part, before.Part, before.Seq)
	}
	sql := `SELECT seq, stream_part, event_id, team_id, user_id, product_code, product_version, device_id, deny_reason, at, tokens, renewal
FROM launches_v2
WHERE ` + where + `
ORDER BY ` + denialOrder + `
LIMIT ` + strconv.Itoa(max(limit, 1))
	return sql, args
}

// DenialList returns at most limit refusals of d after before (nil: from
// the newest).
func (r *Reader) DenialList(ctx context.Context, d DenialScope, before *DenialPos, limit int) ([]Denial, error) {
	sql, args := DenialList(d, before, limit)
	var out []Denial
	err := r.each(ctx, "denial list", sql, args, func(rows driver.Rows) error {
		var x Denial
		var renewal uint8
		if err := rows.Scan(&x.Seq, &x.Part, &x.EventID, &x.TeamID, &x.UserID, &x.Product, &x.Version, &x.Device,
			&x.Reason, &x.At, &x.TokensRequired, &renewal); err != nil {
			return err
		}
		x.Renewal = renewal == 1
		out = append(out, x)
		return nil
	})
	return out, err
}

// denialMark starts a denial cursor's user, which carries the time and
// partition of the position; the key is its sequence.
const denialMark = "denials"

// DenialCursor is the token of the page after the refusal at pos.
func DenialCursor(scope uint64, pos DenialPos) Cursor {
	return Cursor{Scope: scope, Key: int64(pos.Seq),
		User: denialMark + "_" + strconv.FormatInt(pos.At, 10) + "_" + strconv.Itoa(int(pos.Part))}
}

// denialPos reads the position a denial cursor carries (ok false for any
// other cursor, or one the service would not write).
func denialPos(cur *Cursor) (pos DenialPos, ok bool) {
	parts := strings.Split(cur.User, "_")
	if len(parts) != 3 || parts[0] != denialMark || cur.Key <= 0 {
		return pos, false
	}
	at, err1 := strconv.ParseInt(parts[1], 10, 64)
	part, err2 := strconv.ParseInt(parts[2], 10, 8)
	pos = DenialPos{At: at, Part: int8(part), Seq: uint64(cur.Key)}
	if err1 != nil || err2 != nil || at < 0 || at > math.MaxUint32 || part < -1 || part >= subject.MaxPartitions {
		return pos, false
	}
	return pos, DenialCursor(0, pos).User == cur.User
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
ORDER BY at, stream_part, seq`
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
