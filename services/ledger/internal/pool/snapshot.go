package pool

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
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
// encoded in place).
type snapshot struct {
	snapshotHead
	Applied map[string]Outcome `json:"applied"`
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
	// Subscriptions: every subscription granted and not revoked, by user then product.
	Subscriptions []Subscription `json:"subscriptions,omitempty"`
	// Groups: the team's user groups by id (absent from older snapshots).
	Groups []Group `json:"groups,omitempty"`
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

// Capture is a pool's state taken for a snapshot: copies of what can
// change later, so that the bulk of the work — sorting and encoding the
// windows, users and remembered answers — is left to Encode, which may run
// on another goroutine while the pool goes on deciding.
type Capture struct {
	s       snapshot // without windows, users and answers
	windows []windowRecord
	users   map[string][]string
	// ids and answers are the remembered answers (answers[i] to ids[i]):
	// two slices are the cheapest copy to take under the pool's lock.
	ids     []string
	answers []answer
}

// CaptureSnapshot takes the pool's state for Encode; call it where the pool
// may be read (under its lock).
func (p *Pool) CaptureSnapshot() (*Capture, error) {
	c := &Capture{s: snapshot{
		snapshotHead: snapshotHead{Version: snapshotVersion, Org: p.Org, Team: p.Team},
		snapshotTail: snapshotTail{
			// A move never changes once recorded: the map is all to copy.
			Suspended: p.suspended, MergedInto: p.mergedInto, Moves: maps.Clone(p.moves),
			Purchased: p.purchased, Debited: p.debited, Expired: p.expired, Removed: p.removed, LastTime: p.lastTime,
			Capacities: maps.Clone(p.capacities),
		},
	}}
	if p.packs != nil {
		c.s.Packs = make([]*Pack, len(p.packs))
	}
	for i, pk := range p.packs {
		cp := *pk
		c.s.Packs[i], c.s.PackOrder = &cp, append(c.s.PackOrder, pk.order)
	}
	for code, k := range c.s.Capacities {
		cp := *k
		cp.Used, cp.Out = maps.Clone(k.Used), maps.Clone(k.Out)
		c.s.Capacities[code] = &cp
	}
	for _, id := range p.budgetIDs() {
		st := p.budgets[id]
		raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(st.b)
		if err != nil {
			return nil, fmt.Errorf("snapshot budget %s: %w", id, err)
		}
		c.s.Budgets = append(c.s.Budgets, budgetRecord{Budget: raw, Spent: maps.Clone(st.spent), Crossed: maps.Clone(st.crossed)})
	}
	c.s.Subscriptions = p.allSubscriptions()
	c.s.Groups = p.allGroups()
	p.captureBulk(c)
	return c, nil
}

// captureBulk copies the windows, users and answers into c.
func (p *Pool) captureBulk(c *Capture) {
	if len(p.windows) > 0 {
		c.windows = make([]windowRecord, 0, len(p.windows))
	}
	for k, w := range p.windows {
		c.windows = append(c.windows, windowRecord{User: k.user, Product: k.product, ID: w.ID, Start: w.Start, End: w.End})
	}
	c.users = make(map[string][]string, len(p.users))
	for u, products := range p.users {
		list := make([]string, 0, len(products))
		for code := range products {
			list = append(list, code)
		}
		c.users[u] = list
	}
	c.ids, c.answers = make([]string, 0, len(p.applied)), make([]answer, 0, len(p.applied))
	for id, a := range p.applied {
		c.ids = append(c.ids, id)
		c.answers = append(c.answers, a)
	}
}

// Encode writes the snapshot: encoding/json's encoding of snapshot, with
// the windows and each user's products sorted so that equal states encode
// to equal bytes (encoding/json sorts map keys itself).
func (c *Capture) Encode() ([]byte, error) {
	s := c.s
	slices.SortFunc(c.windows, func(a, b windowRecord) int {
		return cmp.Or(strings.Compare(a.User, b.User), strings.Compare(a.Product, b.Product))
	})
	for _, list := range c.users {
		slices.Sort(list)
	}
	s.Windows, s.Users = c.windows, c.users
	s.Applied = make(map[string]Outcome, len(c.ids))
	for i, id := range c.ids {
		s.Applied[id] = c.answers[i].outcome()
	}
	return json.Marshal(s)
}

// UnmarshalSnapshot restores a pool from MarshalSnapshot's bytes.
func UnmarshalSnapshot(data []byte) (*Pool, error) {
	var s snapshot
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
	p.restoreSubscriptions(s.Subscriptions)
	p.restoreGroups(s.Groups)
	p.suspended, p.mergedInto = s.Suspended, s.MergedInto
	p.purchased, p.debited, p.expired, p.removed, p.lastTime = s.Purchased, s.Debited, s.Expired, s.Removed, s.LastTime
	return p, nil
}
