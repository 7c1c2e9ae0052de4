package pool

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// snapshotVersion changes whenever the snapshot's shape does; an older
// snapshot is ignored and the pool replayed from the log instead.
const snapshotVersion = 1

// snapshot is the encoded state: the fields of snapshotHead, "applied",
// then those of snapshotTail, as one JSON object (embedded fields are
// encoded in place). Capture.Encode writes it in parts and joins them (the
// tests hold it to encoding/json's encoding of this struct), so that most of
// the work can leave the pool's lock, and the answers, most of a busy pool's
// snapshot, are written by appliedMap without encoding/json reading its
// output again.
type snapshot struct {
	snapshotHead
	Applied appliedMap `json:"applied"`
	snapshotTail
}

type snapshotHead struct {
	Version   int                 `json:"v"`
	Org       string              `json:"org"`
	Team      string              `json:"team"`
	Packs     []*Pack             `json:"packs"`
	PackOrder []int               `json:"pack_order"`
	Windows   []windowRecord      `json:"windows"`
	Users     map[string][]string `json:"users"`
}

type snapshotTail struct {
	Suspended  bool                 `json:"suspended"`
	MergedInto string               `json:"merged_into"`
	Budgets    []budgetRecord       `json:"budgets"`
	Moves      map[string]*Move     `json:"moves"`
	Purchased  int64                `json:"purchased"`
	Debited    int64                `json:"debited"`
	Expired    int64                `json:"expired"`
	Removed    int64                `json:"removed"`
	LastTime   time.Time            `json:"last_time"`
	Capacities map[string]*capacity `json:"capacities,omitempty"`
}

type windowRecord struct {
	User, Product, ID string
	Start, End        time.Time
}

type budgetRecord struct {
	Budget  []byte
	Spent   map[string]int64
	Crossed map[string]bool
}

// MarshalSnapshot encodes the pool's whole state. Equal states encode to
// equal bytes, so a snapshot can be compared with a replay.
func (p *Pool) MarshalSnapshot() ([]byte, error) {
	c, err := p.CaptureSnapshot()
	if err != nil {
		return nil, err
	}
	return c.Encode()
}

// Capture is a pool's state taken for a snapshot: what can change later is
// encoded or copied already, and the bulk of the work — sorting and encoding
// the windows, users and remembered answers — is left to Encode, which may
// run on another goroutine while the pool goes on deciding.
type Capture struct {
	// front is the JSON object of the fields before "windows", back that of
	// the fields after "applied" (snapshotTail).
	front, back []byte
	windows     []windowRecord
	users       map[string][]string
	applied     appliedCopy
}

// CaptureSnapshot takes the pool's state for Encode; call it where the pool
// may be read (under its lock).
func (p *Pool) CaptureSnapshot() (*Capture, error) {
	var order []int // null without packs, as before
	for _, pk := range p.packs {
		order = append(order, pk.order)
	}
	// Packs change with every charge: encoded now.
	front, err := json.Marshal(struct {
		Version   int     `json:"v"`
		Org       string  `json:"org"`
		Team      string  `json:"team"`
		Packs     []*Pack `json:"packs"`
		PackOrder []int   `json:"pack_order"`
	}{snapshotVersion, p.Org, p.Team, p.packs, order})
	if err != nil {
		return nil, err
	}
	tail := snapshotTail{
		Suspended: p.suspended, MergedInto: p.mergedInto, Moves: p.moves,
		Purchased: p.purchased, Debited: p.debited, Expired: p.expired, Removed: p.removed, LastTime: p.lastTime,
		Capacities: p.capacities,
	}
	for _, id := range p.budgetIDs() {
		st := p.budgets[id]
		raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(st.b)
		if err != nil {
			return nil, fmt.Errorf("snapshot budget %s: %w", id, err)
		}
		tail.Budgets = append(tail.Budgets, budgetRecord{Budget: raw, Spent: st.spent, Crossed: st.crossed})
	}
	back, err := json.Marshal(tail)
	if err != nil {
		return nil, err
	}
	c := &Capture{front: front, back: back, users: make(map[string][]string, len(p.users)), applied: appliedMap(p.applied).copied()}
	if len(p.windows) > 0 {
		c.windows = make([]windowRecord, 0, len(p.windows))
	}
	for k, w := range p.windows {
		c.windows = append(c.windows, windowRecord{User: k.user, Product: k.product, ID: w.ID, Start: w.Start, End: w.End})
	}
	for u, products := range p.users {
		list := make([]string, 0, len(products))
		for code := range products {
			list = append(list, code)
		}
		c.users[u] = list
	}
	return c, nil
}

// Encode writes the snapshot: the bytes encoding/json writes for snapshot
// (fields in order, the answers by appliedMap).
func (c *Capture) Encode() ([]byte, error) {
	slices.SortFunc(c.windows, func(a, b windowRecord) int {
		return cmp.Or(strings.Compare(a.User, b.User), strings.Compare(a.Product, b.Product))
	})
	for _, list := range c.users {
		slices.Sort(list)
	}
	windows, err := json.Marshal(c.windows)
	if err != nil {
		return nil, err
	}
	users, err := json.Marshal(c.users)
	if err != nil {
		return nil, err
	}
	// {front...} and {back...} are objects with fields: {front...,
	// "windows":[...],"users":{...},"applied":{...},back...}.
	out := make([]byte, 0, len(c.front)+len(windows)+len(users)+len(c.back)+len(c.applied.ids)*256)
	out = append(out, c.front[:len(c.front)-1]...)
	out = append(out, `,"windows":`...)
	out = append(out, windows...)
	out = append(out, `,"users":`...)
	out = append(out, users...)
	out = append(out, `,"applied":`...)
	if out, err = c.applied.appendJSON(out); err != nil {
		return nil, err
	}
	out = append(out, ',')
	return append(out, c.back[1:]...), nil
}

// UnmarshalSnapshot restores a pool from MarshalSnapshot's bytes.
func UnmarshalSnapshot(data []byte) (*Pool, error) {
	// The answers are read as the Outcomes they were written as (in one
	// pass with the rest, which appliedMap's UnmarshalJSON would not be).
	var s struct {
		snapshotHead
		Applied map[string]Outcome `json:"applied"`
		snapshotTail
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("snapshot version %d, want %d", s.Version, snapshotVersion)
	}
	p := New(s.Org, s.Team)
	for i, pk := range s.Packs {
		pk.order = s.PackOrder[i]
		p.packs = append(p.packs, pk)
		p.packIdx[pk.ID] = pk
	}
	// Answers share their fingerprints, with each other and the windows, as
	// in a pool that folded the events.
	fingerprints := map[string]string{}
	for _, w := range s.Windows {
		fp := Fingerprint(w.User, w.Product)
		fingerprints[fp] = fp
		p.windows[windowKey{w.User, w.Product}] = &Window{ID: w.ID, Start: w.Start, End: w.End, fingerprint: fp}
	}
	for u, list := range s.Users {
		set := map[string]bool{}
		for _, c := range list {
			set[c] = true
		}
		p.users[u] = set
	}
	if s.Applied != nil {
		p.applied = make(map[string]answer, len(s.Applied))
		for id, o := range s.Applied {
			if fp, ok := fingerprints[o.Fingerprint]; ok {
				o.Fingerprint = fp
			} else if o.Fingerprint != "" {
				fingerprints[o.Fingerprint] = o.Fingerprint
			}
			p.applied[id] = answerOf(o)
		}
	}
	if s.Moves != nil {
		p.moves = s.Moves
	}
	for _, br := range s.Budgets {
		b := &v1.Budget{}
		if err := proto.Unmarshal(br.Budget, b); err != nil {
			return nil, fmt.Errorf("decode snapshot budget: %w", err)
		}
		st := &budgetState{b: b, spent: br.Spent, crossed: br.Crossed}
		if st.spent == nil {
			st.spent = map[string]int64{}
		}
		if st.crossed == nil {
			st.crossed = map[string]bool{}
		}
		p.budgets[b.GetBudgetId()] = st
	}
	for code, c := range s.Capacities {
		if c.Used == nil {
			c.Used = map[string]int64{}
		}
		if c.Out == nil {
			c.Out = map[string]int64{}
		}
		p.capacities[code] = c
	}
	p.suspended, p.mergedInto = s.Suspended, s.MergedInto
	p.purchased, p.debited, p.expired, p.removed, p.lastTime = s.Purchased, s.Debited, s.Expired, s.Removed, s.LastTime
	return p, nil
}
