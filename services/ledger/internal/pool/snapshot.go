package pool

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// snapshotVersion changes whenever the snapshot's shape does; an older
// snapshot is ignored and the pool replayed from the log instead.
const snapshotVersion = 1

// snapshot is the encoded state: the fields of snapshotHead, "applied",
// then those of snapshotTail, as one JSON object (embedded fields are
// encoded in place). MarshalSnapshot encodes the three apart and joins them,
// so that the answers, most of a busy pool's snapshot, are written by
// appliedMap without encoding/json reading its output again.
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
	s := snapshot{
		snapshotHead: snapshotHead{Version: snapshotVersion, Org: p.Org, Team: p.Team, Packs: p.packs, Users: map[string][]string{}},
		Applied:      p.applied,
		snapshotTail: snapshotTail{
			Suspended: p.suspended, MergedInto: p.mergedInto, Moves: p.moves,
			Purchased: p.purchased, Debited: p.debited, Expired: p.expired, Removed: p.removed, LastTime: p.lastTime,
			Capacities: p.capacities,
		},
	}
	for _, pk := range p.packs {
		s.PackOrder = append(s.PackOrder, pk.order)
	}
	for k, w := range p.windows {
		s.Windows = append(s.Windows, windowRecord{User: k.user, Product: k.product, ID: w.ID, Start: w.Start, End: w.End})
	}
	sort.Slice(s.Windows, func(i, j int) bool {
		a, b := s.Windows[i], s.Windows[j]
		return a.User < b.User || (a.User == b.User && a.Product < b.Product)
	})
	for u, products := range p.users {
		list := make([]string, 0, len(products))
		for c := range products {
			list = append(list, c)
		}
		sort.Strings(list)
		s.Users[u] = list
	}
	for _, id := range p.budgetIDs() {
		st := p.budgets[id]
		raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(st.b)
		if err != nil {
			return nil, fmt.Errorf("snapshot budget %s: %w", id, err)
		}
		s.Budgets = append(s.Budgets, budgetRecord{Budget: raw, Spent: st.spent, Crossed: st.crossed})
	}
	head, err := json.Marshal(s.snapshotHead)
	if err != nil {
		return nil, err
	}
	tail, err := json.Marshal(s.snapshotTail)
	if err != nil {
		return nil, err
	}
	// head and tail are objects with fields: {h...} and {t...} make
	// {h...,"applied":{...},t...}.
	out := make([]byte, 0, len(head)+len(tail)+len(p.applied)*256)
	out = append(out, head[:len(head)-1]...)
	out = append(out, `,"applied":`...)
	if out, err = s.Applied.appendJSON(out); err != nil {
		return nil, err
	}
	out = append(out, ',')
	return append(out, tail[1:]...), nil
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
