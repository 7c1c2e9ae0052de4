package pool

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// TestModel runs random sequences of commands against the core and against a
// deliberately simple reference model (mPool below: plain slices, maps and
// loops) and checks after every step that both agree on every answer and on
// the pools' state, and that invariants 1–3 of DESIGN.md hold on the events
// the core appended. Commands go through Pool.Decide, as the store's do; the
// events it returns are folded one at a time by a replica reading the log.
//
// The default run (100 checks, ~90 steps each) takes a few seconds. Longer:
//
//	go test ./internal/pool/ -run TestModel -rapid.checks=10000 -rapid.steps=100
//
// (each Repeat takes -rapid.steps on average; the test runs three.) Runs stop
// adding events to a pool that nears 1024 events, where the core starts
// forgetting answers older than AppliedRetention, which the model does not do.
func TestModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := newWorld(t)
		actions := w.actions()
		for range 3 {
			t.Repeat(actions)
		}
		for _, s := range w.sides {
			w.checkSnapshot(t, s, rapid.IntRange(0, len(s.log)).Draw(t, "finalCut"))
		}
	})
}

// ---------------------------------------------------------------------------
// The reference model.

const (
	mOrg      = "acme"
	mDay      = 24 * time.Hour
	mMaxEvent = 1000
)

type mRate struct {
	code, group string
	rate        int64
	from        time.Time
}

// mRates is the catalog, per code in order of its effective time. MAX has no
// rate before day 2 (an unknown product until then); REVIT's rate rises on
// day 3; MAYA is never known.
var mRates = []mRate{
	{"REVIT", "bim", 10, t0.Add(-time.Hour)},
	{"REVIT", "bim", 12, t0.Add(72 * time.Hour)},
	{"ACAD", "acad", 7, t0.Add(-time.Hour)},
	{"CIVIL", "acad", 9, t0.Add(-time.Hour)},
	{"FUSION", "mfg", 2, t0.Add(-time.Hour)},
	{"MAX", "media", 6, t0.Add(48 * time.Hour)},
}

var (
	// Repeated names are drawn more often: mostly assigned users and known products.
	mUsers    = []string{"ann", "ann", "ann", "bob", "bob", "dan", "cat", "eve"}
	mProducts = []string{"REVIT", "REVIT", "ACAD", "ACAD", "CIVIL", "FUSION", "MAX", "MAYA"}
)

func mRateAt(code string, t time.Time) (rate int64, group string, ok bool) {
	for _, r := range mRates {
		if r.code == code && !r.from.After(t) {
			rate, group, ok = r.rate, r.group, true
		}
	}
	return rate, group, ok
}

func mPeriodKey(p v1.BudgetPeriod, t time.Time) string {
	t = t.UTC()
	switch p {
	case v1.BudgetPeriod_BUDGET_PERIOD_MONTH:
		return t.Format("2006-01") + "-01"
	case v1.BudgetPeriod_BUDGET_PERIOD_WEEK:
		for t.Weekday() != time.Monday {
			t = t.Add(-mDay)
		}
	}
	return t.Format("2006-01-02")
}

type mPack struct {
	id                     string
	tokens, remaining      int64
	purchasedAt, expiresAt time.Time
	order                  int
	expired                bool // its PackExpired is recorded
}

// burnsFirst is the burn-down rule: earliest expiry, then the smaller pack,
// then the older purchase, then the pack added first.
func burnsFirst(a, b *mPack) bool {
	switch {
	case !a.expiresAt.Equal(b.expiresAt):
		return a.expiresAt.Before(b.expiresAt)
	case a.tokens != b.tokens:
		return a.tokens < b.tokens
	case !a.purchasedAt.Equal(b.purchasedAt):
		return a.purchasedAt.Before(b.purchasedAt)
	}
	return a.order < b.order
}

type mPart struct {
	pack                   string
	tokens                 int64
	purchasedAt, expiresAt time.Time
}

type mWindow struct {
	id         string
	start, end time.Time
}

type mBudget struct {
	scope        v1.BudgetScope
	key, attrKey string
	limit        int64
	period       v1.BudgetPeriod
	hard         bool
	spent        map[string]int64
	crossed      map[string]bool
}

func (b *mBudget) counts(m *mPool, user, group string, attrs map[string]string) bool {
	switch b.scope {
	case v1.BudgetScope_BUDGET_SCOPE_USER_GROUP:
		g := m.groups[b.key]
		return g != nil && g.members[user]
	case v1.BudgetScope_BUDGET_SCOPE_USER:
		return b.key == user
	case v1.BudgetScope_BUDGET_SCOPE_GROUP:
		return b.key == group
	case v1.BudgetScope_BUDGET_SCOPE_ATTRIBUTE:
		v, ok := attrs[b.attrKey]
		return ok && v == b.key
	}
	return false
}

// mAnswer is the answer an event id got.
type mAnswer struct {
	decision    v1.Decision
	reason      v1.DenyReason
	tokens      int64
	windowID    string
	windowEnd   time.Time
	balance     int64
	keep        bool
	fingerprint string
	bySub       bool
}

var authorized = mAnswer{decision: v1.Decision_DECISION_AUTHORIZED}

type mPool struct {
	team      string
	packs     []*mPack
	windows   map[[2]string]mWindow
	users     map[string][]string
	answers   map[string]mAnswer
	budgets   map[string]*mBudget
	moves     map[string][]mPart
	subs      map[[2]string]time.Time // (user, product) → end (zero: until revoked)
	groups    map[string]*mGroup
	suspended bool

	purchased, debited, expired, removed int64
}

func newMPool(team string) *mPool {
	return &mPool{
		team: team, windows: map[[2]string]mWindow{}, users: map[string][]string{},
		answers: map[string]mAnswer{}, budgets: map[string]*mBudget{}, moves: map[string][]mPart{},
		subs: map[[2]string]time.Time{}, groups: map[string]*mGroup{},
	}
}

func (m *mPool) pack(id string) *mPack {
	for _, pk := range m.packs {
		if pk.id == id {
			return pk
		}
	}
	return nil
}

func (m *mPool) live(pk *mPack, t time.Time) bool { return !pk.expired && t.Before(pk.expiresAt) }

// balanceAt is what can be spent at t: packs past their expiry count for
// nothing, recorded or not.
func (m *mPool) balanceAt(t time.Time) int64 {
	n := int64(0)
	for _, pk := range m.packs {
		if m.live(pk, t) {
			n += pk.remaining
		}
	}
	return n
}

func (m *mPool) available() int64 { return m.purchased - m.debited - m.expired - m.removed }

// take debits n tokens, one pack at a time: each time the live pack with
// tokens left that burns first. The caller checked that there are n.
func (m *mPool) take(n int64, t time.Time) []mPart {
	var parts []mPart
	for n > 0 {
		var next *mPack
		for _, pk := range m.packs {
			if m.live(pk, t) && pk.remaining > 0 && (next == nil || burnsFirst(pk, next)) {
				next = pk
			}
		}
		k := min(n, next.remaining)
		next.remaining -= k
		n -= k
		parts = append(parts, mPart{pack: next.id, tokens: k, purchasedAt: next.purchasedAt, expiresAt: next.expiresAt})
	}
	return parts
}

// window is the (user, product)'s window if it covers t: any time before
// its end. A launch stamped before the window's start was received before
// it but arrived after it (receipt times come from several ingestion
// instances and forwarding replicas): the charge already made covers it.
func (m *mPool) window(user, product string, t time.Time) (mWindow, bool) {
	w, ok := m.windows[[2]string{user, product}]
	return w, ok && t.Before(w.end)
}

// refusal is why user may not open product at t at all, money aside.
func (m *mPool) refusal(user, product string, t time.Time) v1.DenyReason {
	if m.suspended {
		return v1.DenyReason_DENY_REASON_POOL_SUSPENDED
	}
	if _, _, ok := mRateAt(product, t); !ok {
		return v1.DenyReason_DENY_REASON_UNKNOWN_PRODUCT
	}
	products, ok := m.users[user]
	member := false
	for _, g := range m.groups {
		if g.members[user] {
			member = true
			products = append(slices.Clone(products), g.products...)
		}
	}
	if !ok && !member {
		return v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED
	}
	if !slices.Contains(products, product) && !slices.Contains(products, "*") {
		return v1.DenyReason_DENY_REASON_PRODUCT_NOT_ALLOWED
	}
	return v1.DenyReason_DENY_REASON_UNSPECIFIED
}

func (m *mPool) overHardCap(user, group string, attrs map[string]string, rate int64, start time.Time) bool {
	for _, b := range m.budgets {
		if b.hard && b.counts(m, user, group, attrs) && b.spent[mPeriodKey(b.period, start)]+rate > b.limit {
			return true
		}
	}
	return false
}

// mDecision is what the model expects of a launch or heartbeat.
type mDecision struct {
	ans   mAnswer
	kind  string // "charged", "covered", "denied", or "" for nothing appended
	parts []mPart
	start time.Time
}

func (m *mPool) launch(id, user, product string, attrs map[string]string, now time.Time) mDecision {
	if a, ok := m.answers[id]; ok {
		return mDecision{ans: a}
	}
	if d, ok := m.subscribedLaunch(id, user, product, now); ok {
		return d
	}
	if w, open := m.window(user, product, now); open && m.refusal(user, product, now) == v1.DenyReason_DENY_REASON_UNSPECIFIED {
		a := mAnswer{decision: v1.Decision_DECISION_AUTHORIZED, windowID: w.id, windowEnd: w.end,
			balance: m.balanceAt(now), keep: true, fingerprint: Fingerprint(user, product)}
		m.answers[id] = a
		return mDecision{ans: a, kind: "covered"}
	}
	return m.charge(id, user, product, attrs, now, now)
}

// charge opens a window at start, decided at now, or refuses it.
func (m *mPool) charge(id, user, product string, attrs map[string]string, start, now time.Time) mDecision {
	fp := Fingerprint(user, product)
	deny := func(r v1.DenyReason) mDecision {
		a := mAnswer{decision: v1.Decision_DECISION_DENIED, reason: r, balance: m.balanceAt(now), fingerprint: fp}
		m.answers[id] = a
		return mDecision{ans: a, kind: "denied"}
	}
	if r := m.refusal(user, product, start); r != v1.DenyReason_DENY_REASON_UNSPECIFIED {
		return deny(r)
	}
	rate, group, _ := mRateAt(product, start)
	if m.overHardCap(user, group, attrs, rate, start) {
		return deny(v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED)
	}
	if m.balanceAt(now) < rate {
		return deny(v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS)
	}
	balance := m.balanceAt(now) - rate
	parts := m.take(rate, now)
	m.debited += rate
	w := mWindow{id: id, start: start, end: start.Add(mDay)}
	m.windows[[2]string{user, product}] = w
	for _, b := range m.budgets {
		if b.counts(m, user, group, attrs) {
			b.spent[mPeriodKey(b.period, start)] += rate
		}
	}
	a := mAnswer{decision: v1.Decision_DECISION_AUTHORIZED, tokens: rate, windowID: id, windowEnd: w.end,
		balance: balance, keep: true, fingerprint: fp}
	m.answers[id] = a
	return mDecision{ans: a, kind: "charged", parts: parts, start: start}
}

func (m *mPool) heartbeat(id, user, product string, active bool, idle time.Duration, now time.Time) mDecision {
	if a, ok := m.answers[id]; ok {
		return mDecision{ans: a}
	}
	if end, ok := m.subscribed(user, product, now); ok {
		return mDecision{ans: mAnswer{decision: v1.Decision_DECISION_AUTHORIZED, windowEnd: end, balance: m.balanceAt(now), keep: true, bySub: true}}
	}
	prev, had := m.windows[[2]string{user, product}]
	// Inside its window a session keeps running, unless the pool was
	// suspended or the user unassigned since the launch: then it stops.
	if w, open := m.window(user, product, now); open {
		if r := m.refusal(user, product, now); r != v1.DenyReason_DENY_REASON_UNSPECIFIED {
			return mDecision{ans: mAnswer{decision: v1.Decision_DECISION_DENIED, reason: r, balance: m.balanceAt(now)}}
		}
		return mDecision{ans: mAnswer{decision: v1.Decision_DECISION_AUTHORIZED, windowID: w.id, windowEnd: w.end,
			balance: m.balanceAt(now), keep: true}}
	}
	if !active {
		return mDecision{ans: mAnswer{decision: v1.Decision_DECISION_AUTHORIZED, balance: m.balanceAt(now), keep: true}}
	}
	if idle <= 0 {
		idle = 15 * time.Minute
	}
	start := now
	if had && now.Sub(prev.end) <= idle {
		start = prev.end
	}
	// A renewal carries no attributes (a heartbeat has none), so attribute
	// budgets do not count it; as the core does.
	return m.charge(id, user, product, nil, start, now)
}

// quote is what the model says QuoteLaunch should answer.
func (m *mPool) quote(user, product string, now time.Time) Quote {
	q := Quote{Balance: m.balanceAt(now)}
	if _, ok := m.subscribed(user, product, now); ok {
		q.Affordable, q.BySubscription = true, true
		return q
	}
	if r := m.refusal(user, product, now); r != v1.DenyReason_DENY_REASON_UNSPECIFIED {
		q.DenyReason = r
		return q
	}
	if w, open := m.window(user, product, now); open {
		q.Affordable, q.Window = true, &Window{ID: w.id}
		return q
	}
	rate, group, _ := mRateAt(product, now)
	q.Tokens = rate
	switch {
	case m.overHardCap(user, group, nil, rate, now):
		q.DenyReason = v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED
	case q.Balance < rate:
		q.DenyReason = v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS
	default:
		q.Affordable = true
	}
	return q
}

type mExpiry struct {
	id, pack      string
	lost, balance int64
	at            time.Time
}

func (m *mPool) dueExpiries(now time.Time) []mExpiry {
	var out []mExpiry
	for _, pk := range m.packs {
		if !pk.expired && !now.Before(pk.expiresAt) {
			out = append(out, mExpiry{id: "expire-" + m.team + "-" + pk.id, pack: pk.id, lost: pk.remaining,
				balance: m.balanceAt(pk.expiresAt), at: pk.expiresAt})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (m *mPool) expire(due []mExpiry) {
	for _, e := range due {
		pk := m.pack(e.pack)
		pk.expired, pk.remaining = true, 0
		m.expired += e.lost
		m.answers[e.id] = mAnswer{decision: v1.Decision_DECISION_AUTHORIZED, balance: e.balance}
	}
}

type mCrossing struct {
	id, budget, period string
	spent              int64
}

// dueCrossings looks at the period holding now only, as the core does.
func (m *mPool) dueCrossings(now time.Time) []mCrossing {
	var out []mCrossing
	for id, b := range m.budgets {
		key := mPeriodKey(b.period, now)
		if !b.crossed[key] && b.spent[key] >= b.limit {
			out = append(out, mCrossing{id: "budget-" + m.team + "-" + id + "-" + key, budget: id, period: key, spent: b.spent[key]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (m *mPool) cross(cs []mCrossing) {
	for _, c := range cs {
		m.budgets[c.budget].crossed[c.period] = true
		m.answers[c.id] = authorized
	}
}

func (m *mPool) addPack(id, pack string, tokens int64, purchasedAt, expiresAt, contractEnd, now time.Time) error {
	switch {
	case m.suspended:
		return ErrSuspended
	case tokens <= 0:
		return ErrInvalid
	case m.pack(pack) != nil:
		return ErrPackExists
	}
	if purchasedAt.IsZero() {
		purchasedAt = now
	}
	if expiresAt.IsZero() {
		expiresAt = purchasedAt.AddDate(1, 0, 0)
		if !contractEnd.IsZero() && contractEnd.Before(expiresAt) {
			expiresAt = contractEnd
		}
	}
	if !expiresAt.After(now) {
		return ErrInvalid
	}
	m.packs = append(m.packs, &mPack{id: pack, tokens: tokens, remaining: tokens, purchasedAt: purchasedAt,
		expiresAt: expiresAt, order: len(m.packs)})
	m.purchased += tokens
	m.answers[id] = mAnswer{decision: v1.Decision_DECISION_AUTHORIZED, balance: m.balanceAt(now)}
	return nil
}

func (m *mPool) remove(id string, kind v1.AdjustmentKind, tokens int64, reason string, now time.Time, moveOut bool) ([]mPart, error) {
	switch {
	case m.suspended:
		return nil, ErrSuspended
	case !moveOut && kind != v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE && kind != v1.AdjustmentKind_ADJUSTMENT_KIND_REFUND:
		return nil, ErrInvalid
	case tokens <= 0:
		return nil, ErrInvalid
	case !moveOut && reason == "":
		return nil, ErrInvalid
	case m.balanceAt(now) < tokens:
		return nil, ErrInsufficient
	}
	parts := m.take(tokens, now)
	m.removed += tokens
	if moveOut {
		m.moves[id] = parts
	}
	m.answers[id] = mAnswer{decision: v1.Decision_DECISION_AUTHORIZED, balance: m.balanceAt(now)}
	return parts, nil
}

// moveIn adds the parts of a move not added yet and returns their event ids.
func (m *mPool) moveIn(moveID string, parts []mPart, now time.Time) ([]string, error) {
	if m.suspended {
		return nil, ErrSuspended
	}
	var ids []string
	for i, part := range parts {
		id := fmt.Sprintf("%s/in/%d", moveID, i)
		if _, done := m.answers[id]; done {
			continue
		}
		m.packs = append(m.packs, &mPack{id: MovedPackID(moveID, part.pack), tokens: part.tokens, remaining: part.tokens,
			purchasedAt: part.purchasedAt, expiresAt: part.expiresAt, order: len(m.packs)})
		m.purchased += part.tokens
		m.answers[id] = mAnswer{decision: v1.Decision_DECISION_AUTHORIZED, balance: m.balanceAt(now)}
		ids = append(ids, id)
	}
	return ids, nil
}

func (m *mPool) merge(id string, now time.Time) ([]mPart, error) {
	if m.suspended {
		return nil, ErrSuspended
	}
	all := m.balanceAt(now)
	parts := m.take(all, now)
	m.removed += all
	if len(parts) > 0 {
		m.moves[id] = parts
	}
	m.suspended = true
	m.answers[id] = mAnswer{decision: v1.Decision_DECISION_AUTHORIZED, balance: m.balanceAt(now)}
	return parts, nil
}

func (m *mPool) setBudget(id string, b *v1.Budget) error {
	old, exists := m.budgets[id]
	if b.GetDeleted() {
		if !exists {
			return ErrNotFound
		}
		delete(m.budgets, id)
		return nil
	}
	if b.GetLimitTokens() <= 0 {
		return ErrInvalid
	}
	if b.GetScope() == v1.BudgetScope_BUDGET_SCOPE_USER_GROUP && m.groups[b.GetKey()] == nil {
		return ErrNotFound
	}
	nb := &mBudget{scope: b.GetScope(), key: b.GetKey(), attrKey: b.GetAttributeKey(), limit: b.GetLimitTokens(),
		period: b.GetPeriod(), hard: b.GetHard(), spent: map[string]int64{}, crossed: map[string]bool{}}
	if exists {
		nb.spent, nb.crossed = old.spent, old.crossed
	}
	m.budgets[id] = nb
	return nil
}

// ---------------------------------------------------------------------------
// The world: two pools of one organisation, each a core pool, its model, and
// the log of the events appended to it.

type request struct {
	launch    *Launch
	heartbeat *Heartbeat
}

type side struct {
	core *Pool
	// replica folds the log one event at a time, as another ledger replica
	// does; core folded each decision's events itself (Pool.Decide).
	replica *Pool
	model   *mPool
	log     []*v1.Event
	lastEnd map[[2]string]time.Time // per (user, product): end of its latest charged window
	reqs    []request               // launches and heartbeats sent, for redelivery
}

type pendingMove struct {
	id   string
	from int
}

type world struct {
	cat     *Catalog
	now     time.Time
	idle    time.Duration
	sides   [2]*side
	seen    map[string]string // event id → the team whose log holds it
	charged map[string]bool   // event ids that charged a window
	moves   []pendingMove
	n       int
}

func newWorld(t *rapid.T) *world {
	w := &world{cat: NewCatalog(), now: t0, seen: map[string]string{}, charged: map[string]bool{}}
	for _, r := range mRates {
		w.cat.Apply(&v1.Event{Payload: &v1.Event_ProductRateSet{ProductRateSet: &v1.ProductRateSet{
			ProductCode: r.code, Name: r.code, Group: r.group, DailyRate: r.rate, EffectiveFrom: tsOf(r.from)}}})
	}
	w.idle = rapid.SampledFrom([]time.Duration{0, 5 * time.Minute, 30 * time.Minute}).Draw(t, "idleTimeout")
	for i, team := range []string{"design", "civil"} {
		s := &side{core: New(mOrg, team), replica: New(mOrg, team), model: newMPool(team), lastEnd: map[[2]string]time.Time{}}
		w.sides[i] = s
		w.assign(t, s, "ann", []string{"*"})
		w.assign(t, s, "bob", []string{"REVIT", "ACAD"})
		w.assign(t, s, "dan", []string{"FUSION", "CIVIL"})
		tokens := int64(rapid.IntRange(5, 150).Draw(t, "seedTokens"))
		expires := t0.Add(time.Duration(rapid.IntRange(1, 30).Draw(t, "seedDays")) * mDay)
		w.addPack(t, s, w.nextID("pk"), tokens, time.Time{}, expires, time.Time{})
	}
	return w
}

func (w *world) nextID(prefix string) string {
	w.n++
	return fmt.Sprintf("%s-%d", prefix, w.n)
}

func (w *world) full() bool {
	return len(w.sides[0].log) >= mMaxEvent || len(w.sides[1].log) >= mMaxEvent
}

func (w *world) pick(t *rapid.T) (int, *side) {
	i := rapid.IntRange(0, 1).Draw(t, "pool")
	return i, w.sides[i]
}

func (w *world) actions() map[string]func(*rapid.T) {
	guard := func(f func(*rapid.T)) func(*rapid.T) {
		return func(t *rapid.T) {
			if !w.full() {
				f(t)
			}
		}
	}
	actions := map[string]func(*rapid.T){
		"": w.check,
		"launch": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			user, product := w.userProduct(t, s)
			l := Launch{
				EventID: w.nextID("L"), User: user, Product: product,
				Version: rapid.SampledFrom([]string{"2025.2", "2026.1"}).Draw(t, "version"),
				Device:  rapid.SampledFrom([]string{"d1", "d2", "d3"}).Draw(t, "device"), At: w.now,
			}
			if proj := rapid.SampledFrom([]string{"", "P1", "P2"}).Draw(t, "project"); proj != "" {
				l.Attributes = map[string]string{"project": proj}
			}
			w.launch(t, s, l, true)
		}),
		"heartbeat": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			user, product := w.userProduct(t, s)
			w.heartbeat(t, s, Heartbeat{
				EventID: w.nextID("H"), User: user, Product: product, Device: "d1",
				Active: rapid.Bool().Draw(t, "active"), At: w.now, IdleTimeout: w.idle,
			}, true)
		}),
		"advance": func(t *rapid.T) {
			var d time.Duration
			switch rapid.IntRange(0, 3).Draw(t, "scale") {
			case 0, 1:
				d = time.Duration(rapid.IntRange(1, 59).Draw(t, "minutes")) * time.Minute
			case 2:
				d = time.Duration(rapid.IntRange(1, 47).Draw(t, "hours")) * time.Hour
			default:
				d = time.Duration(rapid.IntRange(1, 9).Draw(t, "days")) * mDay
			}
			w.now = w.now.Add(d)
		},
		"advanceToWindowEnd": func(t *rapid.T) {
			var ends []time.Time
			for _, s := range w.sides {
				for _, win := range s.model.windows {
					if win.end.After(w.now.Add(-time.Hour)) {
						ends = append(ends, win.end)
					}
				}
			}
			if len(ends) == 0 {
				return
			}
			sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
			end := rapid.SampledFrom(ends).Draw(t, "windowEnd")
			w.advanceTo(end.Add(time.Duration(rapid.IntRange(-120, 40*60).Draw(t, "offsetSeconds")) * time.Second))
		},
		// A launch received a little before the newest event, arriving after
		// it: two ingestion instances (or a forwarding replica) stamp receipt
		// times, and the ledger sees them out of order.
		"lateLaunch": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			user, product := w.userProduct(t, s)
			w.launch(t, s, Launch{EventID: w.nextID("L"), User: user, Product: product, Device: "d3", At: w.late(t)}, true)
		}),
		"lateHeartbeat": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			user, product := w.userProduct(t, s)
			w.heartbeat(t, s, Heartbeat{EventID: w.nextID("H"), User: user, Product: product, Device: "d3",
				Active: rapid.Bool().Draw(t, "active"), At: w.late(t), IdleTimeout: w.idle}, true)
		}),
		// A session still open at its window's 24-hour mark: the clock goes
		// to just before or after the mark and the launcher reports in.
		"sessionAtMark": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			keys := windowKeys(s.model)
			if len(keys) == 0 {
				return
			}
			k := rapid.SampledFrom(keys).Draw(t, "window")
			end := s.model.windows[k].end
			// Whole minutes, so the idle timeout is sometimes met exactly.
			w.advanceTo(end.Add(time.Duration(rapid.IntRange(-2, 40).Draw(t, "offsetMinutes")) * time.Minute))
			w.heartbeat(t, s, Heartbeat{
				EventID: w.nextID("H"), User: k[0], Product: k[1], Device: "d2",
				Active: rapid.IntRange(0, 3).Draw(t, "active") > 0, At: w.now, IdleTimeout: w.idle,
			}, true)
		}),
		"advanceToExpiry": func(t *rapid.T) {
			var at []time.Time
			for _, s := range w.sides {
				for _, pk := range s.model.packs {
					if pk.expiresAt.After(w.now) {
						at = append(at, pk.expiresAt)
					}
				}
			}
			if len(at) == 0 {
				return
			}
			sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
			exp := rapid.SampledFrom(at).Draw(t, "expiry")
			w.advanceTo(exp.Add(time.Duration(rapid.IntRange(-60, 60).Draw(t, "offsetSeconds")) * time.Second))
		},
		"addPack": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			id := w.nextID("pk")
			if len(s.model.packs) > 0 && rapid.IntRange(0, 9).Draw(t, "reusePackID") == 0 {
				id = rapid.SampledFrom(s.model.packs).Draw(t, "pack").id
			}
			// Often a common size, so that packs expiring together tie on size too.
			tokens := int64(rapid.SampledFrom([]int{5, 10, 20, -1}).Draw(t, "size"))
			if tokens < 0 {
				tokens = int64(rapid.IntRange(0, 60).Draw(t, "tokens"))
			}
			day := w.now.Truncate(mDay)
			var purchased, expires, contractEnd time.Time
			if rapid.Bool().Draw(t, "backdated") {
				purchased = day.Add(-time.Duration(rapid.IntRange(0, 1).Draw(t, "purchasedDaysAgo")) * mDay)
			}
			switch rapid.IntRange(0, 4).Draw(t, "expiryKind") {
			case 0: // default: 12 months after purchase
			case 1:
				contractEnd = day.Add(time.Duration(rapid.IntRange(1, 60).Draw(t, "contractDays")) * mDay)
			case 2: // whole days, so packs often expire together
				expires = day.Add(time.Duration(rapid.IntRange(1, 10).Draw(t, "expiryDays")) * mDay)
			case 3:
				expires = w.now.Add(time.Duration(rapid.IntRange(1, 72).Draw(t, "expiryHours")) * time.Hour)
			default: // already expired: refused
				expires = w.now.Add(-time.Duration(rapid.IntRange(0, 5).Draw(t, "expiredHoursAgo")) * time.Hour)
			}
			w.addPack(t, s, id, tokens, purchased, expires, contractEnd)
		}),
		"expirySweep": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			dueM := s.model.dueExpiries(w.now)
			err := w.step(t, s, w.now, dueM, func(*Pool) ([]*v1.Event, error) { return nil, nil })
			sameErr(t, "expiry sweep", err, nil)
		}),
		"adjust": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			c := Adjust{
				EventID: w.nextID("adj"),
				Kind: rapid.SampledFrom([]v1.AdjustmentKind{v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE,
					v1.AdjustmentKind_ADJUSTMENT_KIND_REFUND, v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE,
					v1.AdjustmentKind_ADJUSTMENT_KIND_REFUND, v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT}).Draw(t, "kind"),
				Tokens: int64(rapid.IntRange(0, 60).Draw(t, "tokens")),
				Reason: rapid.SampledFrom([]string{"correction", "refund", "correction", ""}).Draw(t, "reason"),
				At:     w.now,
			}
			dueM := s.model.dueExpiries(w.now)
			parts, wantErr := s.model.remove(c.EventID, c.Kind, c.Tokens, c.Reason, w.now, false)
			err := w.step(t, s, w.now, dueM, func(p *Pool) ([]*v1.Event, error) {
				ev, err := p.DecideAdjust(c)
				if err != nil {
					return nil, err
				}
				sameSplit(t, "adjust "+c.EventID, ev.GetTokensAdjusted().GetSplit(), parts)
				return []*v1.Event{ev}, nil
			})
			sameErr(t, "adjust "+c.EventID, err, wantErr)
		}),
		"setBudget": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			b := &v1.Budget{
				BudgetId: rapid.SampledFrom([]string{"b1", "b2", "b3"}).Draw(t, "budget"),
				Scope: rapid.SampledFrom([]v1.BudgetScope{v1.BudgetScope_BUDGET_SCOPE_USER,
					v1.BudgetScope_BUDGET_SCOPE_GROUP, v1.BudgetScope_BUDGET_SCOPE_ATTRIBUTE, v1.BudgetScope_BUDGET_SCOPE_USER_GROUP}).Draw(t, "scope"),
				// Sums of the rates, so that a charge can meet a limit exactly.
				LimitTokens: int64(rapid.SampledFrom([]int{0, 2, 7, 9, 10, 12, 14, 17, 20, 24, 30}).Draw(t, "limit")),
				Period: rapid.SampledFrom([]v1.BudgetPeriod{v1.BudgetPeriod_BUDGET_PERIOD_DAY,
					v1.BudgetPeriod_BUDGET_PERIOD_WEEK, v1.BudgetPeriod_BUDGET_PERIOD_MONTH}).Draw(t, "period"),
				Hard:    rapid.Bool().Draw(t, "hard"),
				Deleted: rapid.IntRange(0, 5).Draw(t, "delete") == 0,
			}
			switch b.Scope {
			case v1.BudgetScope_BUDGET_SCOPE_USER:
				b.Key = rapid.SampledFrom(mUsers).Draw(t, "key")
			case v1.BudgetScope_BUDGET_SCOPE_GROUP:
				b.Key = rapid.SampledFrom([]string{"bim", "acad", "mfg", "media"}).Draw(t, "key")
			case v1.BudgetScope_BUDGET_SCOPE_USER_GROUP:
				b.Key = rapid.SampledFrom(mGroups).Draw(t, "key")
			default:
				b.AttributeKey, b.Key = "project", rapid.SampledFrom([]string{"P1", "P2"}).Draw(t, "key")
			}
			id := w.nextID("bud")
			dueM := s.model.dueExpiries(w.now)
			wantErr := s.model.setBudget(b.BudgetId, b)
			if wantErr == nil {
				s.model.answers[id] = authorized
			}
			err := w.step(t, s, w.now, dueM, func(p *Pool) ([]*v1.Event, error) {
				ev, err := p.DecideSetBudget(id, b, w.now, nil)
				return []*v1.Event{ev}, err
			})
			sameErr(t, "set budget "+id, err, wantErr)
		}),
		"grant":  guard(func(t *rapid.T) { w.grant(t) }),
		"revoke": guard(func(t *rapid.T) { w.revoke(t) }),
		"group":  guard(func(t *rapid.T) { w.group(t) }),
		"assign": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			w.assign(t, s, rapid.SampledFrom(mUsers).Draw(t, "user"), rapid.SampledFrom([][]string{
				{"*"}, {"REVIT"}, {"ACAD", "CIVIL"}, {"FUSION", "MAX"}, {}}).Draw(t, "products"))
		}),
		"unassign": guard(func(t *rapid.T) {
			if rapid.Bool().Draw(t, "unassignRoll") {
				return // half as often: a pool with its users gone refuses everything
			}
			_, s := w.pick(t)
			user, id := rapid.SampledFrom(mUsers).Draw(t, "user"), w.nextID("un")
			dueM := s.model.dueExpiries(w.now)
			var wantErr error
			if _, ok := s.model.users[user]; ok {
				delete(s.model.users, user)
				s.model.answers[id] = authorized
			} else {
				wantErr = ErrNotFound
			}
			err := w.step(t, s, w.now, dueM, func(p *Pool) ([]*v1.Event, error) {
				ev, err := p.DecideUnassign(id, user, w.now, nil)
				return []*v1.Event{ev}, err
			})
			sameErr(t, "unassign "+id, err, wantErr)
		}),
		// A launch or heartbeat delivered again, to this or another replica:
		// later (stamped now) or a retry forwarded with its first receipt
		// time, after newer events.
		"redeliver": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			if len(s.reqs) == 0 {
				return
			}
			r := rapid.SampledFrom(s.reqs).Draw(t, "request")
			if r.launch != nil {
				l := *r.launch
				if !rapid.Bool().Draw(t, "firstReceiptTime") {
					l.At = w.now
				}
				w.launch(t, s, l, false)
				return
			}
			h := *r.heartbeat
			h.At = w.now
			w.heartbeat(t, s, h, false)
		}),
		// An event id already answered sent again about another product: a
		// client bug, refused without appending anything.
		"reuseEventID": guard(func(t *rapid.T) {
			_, s := w.pick(t)
			var launches []*Launch
			for _, r := range s.reqs {
				if r.launch != nil {
					launches = append(launches, r.launch)
				}
			}
			if len(launches) == 0 {
				return
			}
			l := *rapid.SampledFrom(launches).Draw(t, "launch")
			l.Product, l.At = rapid.SampledFrom(mProducts).Draw(t, "product"), w.now
			w.launch(t, s, l, false)
		}),
		"moveOut": guard(func(t *rapid.T) {
			from, s := w.pick(t)
			to := w.sides[1-from]
			id, tokens := w.nextID("mv"), int64(rapid.IntRange(0, 50).Draw(t, "tokens"))
			dueM := s.model.dueExpiries(w.now)
			parts, wantErr := s.model.remove(id, v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT, tokens, "rebalance", w.now, true)
			err := w.step(t, s, w.now, dueM, func(p *Pool) ([]*v1.Event, error) {
				ev, err := p.DecideMoveOut(id, to.core.Team, tokens, "rebalance", w.now, nil)
				if err != nil {
					return nil, err
				}
				sameSplit(t, "move out "+id, ev.GetTokensAdjusted().GetSplit(), parts)
				return []*v1.Event{ev}, nil
			})
			sameErr(t, "move out "+id, err, wantErr)
			if err != nil {
				return
			}
			w.moves = append(w.moves, pendingMove{id: id, from: from})
			if rapid.IntRange(0, 3).Draw(t, "completeNow") > 0 {
				w.moveIn(t, w.moves[len(w.moves)-1])
			}
		}),
		// The receiving half of a move, done (again) later: a retried
		// request completing an interrupted move, or redoing a finished one.
		"completeMove": guard(func(t *rapid.T) {
			if len(w.moves) == 0 {
				return
			}
			w.moveIn(t, rapid.SampledFrom(w.moves).Draw(t, "move"))
		}),
		"merge": guard(func(t *rapid.T) {
			if rapid.IntRange(0, 39).Draw(t, "mergeRoll") != 0 {
				return // rare: a merged pool refuses almost everything after
			}
			from, s := w.pick(t)
			into := w.sides[1-from]
			id := w.nextID("merge")
			dueM := s.model.dueExpiries(w.now)
			parts, wantErr := s.model.merge(id, w.now)
			err := w.step(t, s, w.now, dueM, func(p *Pool) ([]*v1.Event, error) {
				ev, err := p.DecideMerge(id, into.core.Team, "reorganisation", w.now, nil)
				if err != nil {
					return nil, err
				}
				sameSplit(t, "merge "+id, ev.GetPoolSuspended().GetSplit(), parts)
				return []*v1.Event{ev}, nil
			})
			sameErr(t, "merge "+id, err, wantErr)
			if err == nil && len(parts) > 0 {
				w.moves = append(w.moves, pendingMove{id: id, from: from})
				w.moveIn(t, w.moves[len(w.moves)-1])
			}
		}),
		"snapshot": func(t *rapid.T) {
			_, s := w.pick(t)
			w.checkSnapshot(t, s, rapid.IntRange(0, len(s.log)).Draw(t, "cut"))
		},
	}
	// Repeat picks actions uniformly: more names for the busy ones.
	for name, copies := range map[string]int{"launch": 6, "heartbeat": 4, "advance": 2, "sessionAtMark": 3, "addPack": 2, "redeliver": 2, "setBudget": 2, "group": 3} {
		for i := 2; i <= copies; i++ {
			actions[fmt.Sprintf("%s#%d", name, i)] = actions[name]
		}
	}
	return actions
}

// late is a receipt time up to five minutes before the clock.
func (w *world) late(t *rapid.T) time.Time {
	at := w.now.Add(-time.Duration(rapid.IntRange(1, 300).Draw(t, "lateSeconds")) * time.Second)
	if at.Before(t0) {
		return t0
	}
	return at
}

func (w *world) advanceTo(at time.Time) {
	if at.After(w.now) {
		w.now = at
	}
}

// userProduct picks who launches what: often the pair of a window the pool
// has (open or not), otherwise anyone and anything.
func (w *world) userProduct(t *rapid.T, s *side) (user, product string) {
	if keys := windowKeys(s.model); len(keys) > 0 && rapid.Bool().Draw(t, "ofAWindow") {
		k := rapid.SampledFrom(keys).Draw(t, "window")
		return k[0], k[1]
	}
	return rapid.SampledFrom(mUsers).Draw(t, "user"), rapid.SampledFrom(mProducts).Draw(t, "product")
}

func windowKeys(m *mPool) [][2]string {
	keys := make([][2]string, 0, len(m.windows))
	for k := range m.windows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"/"+keys[i][1] < keys[j][0]+"/"+keys[j][1] })
	return keys
}

// step runs one command on a pool with Pool.Decide, as the store does, and
// appends what it returns: the due expiries (as of now), the decision's
// events, then the budget crossings. A decision that fails appends nothing.
// dueM is the model's expectation of the due expiries; the model has already
// made its own decision.
func (w *world) step(t *rapid.T, s *side, now time.Time, dueM []mExpiry, decide Command) error {
	t.Helper()
	sameExpiries(t, s, now, s.core.DueExpiries(now), dueM)
	events, err := s.core.Decide(now, decide)
	if err != nil {
		return err
	}
	s.model.expire(dueM)
	if len(events) < len(dueM) {
		t.Fatalf("%s: a decision at %s appends %d events, fewer than the %d expiries due", s.core.Team, now, len(events), len(dueM))
	}
	sameExpiries(t, s, now, events[:len(dueM)], dueM) // first
	last := len(events)
	for last > len(dueM) && events[last-1].GetBudgetCrossed() != nil {
		last--
	}
	want := s.model.dueCrossings(now)
	var gotC []mCrossing
	for _, ev := range events[last:] {
		e := ev.GetBudgetCrossed()
		gotC = append(gotC, mCrossing{id: ev.GetEventId(), budget: e.GetBudgetId(), period: e.GetPeriodStart(), spent: e.GetSpent()})
	}
	if fmt.Sprint(gotC) != fmt.Sprint(want) {
		t.Fatalf("%s: budget crossings at %s: core %v, model %v", s.core.Team, now, gotC, want)
	}
	s.model.cross(want)
	for _, ev := range events {
		w.append(t, s, ev)
	}
	return nil
}

// sameExpiries compares PackExpired events with the model's due expiries.
func sameExpiries(t *rapid.T, s *side, now time.Time, due []*v1.Event, dueM []mExpiry) {
	t.Helper()
	var got []mExpiry
	for _, ev := range due {
		e := ev.GetPackExpired()
		got = append(got, mExpiry{id: ev.GetEventId(), pack: e.GetPackId(), lost: e.GetTokensLost(),
			balance: e.GetPool().GetAvailable(), at: ev.GetServerTime().AsTime()})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].id < got[j].id })
	if fmt.Sprint(got) != fmt.Sprint(dueM) {
		t.Fatalf("%s: due expiries at %s: core %v, model %v", s.core.Team, now, got, dueM)
	}
}

// append records one event on the log, folds it into the replica and checks
// what must hold at every event.
func (w *world) append(t *rapid.T, s *side, ev *v1.Event) {
	t.Helper()
	id := ev.GetEventId()
	if team, dup := w.seen[id]; dup {
		t.Fatalf("invariant 2: event id %s appended again (already in %s's log)", id, team)
	}
	w.seen[id] = s.core.Team
	if ev.GetTeamId() != s.core.Team || ev.GetOrgId() != mOrg {
		t.Fatalf("event %s is addressed to %s/%s, appended to %s/%s", id, ev.GetOrgId(), ev.GetTeamId(), mOrg, s.core.Team)
	}
	if err := s.replica.Apply(ev); err != nil {
		t.Fatalf("fold %s: %v", id, err)
	}
	s.log = append(s.log, ev)
	at := ev.GetServerTime().AsTime()
	b := s.replica.BalanceAt(at)
	if avail := s.replica.Available(); avail != b.Purchased-b.Debited-b.Expired-b.Removed || avail < 0 || b.Available < 0 {
		t.Fatalf("invariant 1 after %s: available %d (live %d), purchased %d, debited %d, expired %d, removed %d",
			id, avail, b.Available, b.Purchased, b.Debited, b.Expired, b.Removed)
	}
	if f := figuresOf(ev); f != nil && f.GetAvailable() != b.Available {
		t.Fatalf("%s (%T) carries available %d, but the pool holds %d at %s", id, ev.GetPayload(), f.GetAvailable(), b.Available, at)
	}
	if wc := ev.GetWindowCharged(); wc != nil {
		if w.charged[id] {
			t.Fatalf("invariant 2: event id %s charged twice", id)
		}
		w.charged[id] = true
		sum := int64(0)
		for _, part := range wc.GetSplit() {
			sum += part.GetTokens()
		}
		if wc.GetTokens() <= 0 || sum != wc.GetTokens() {
			t.Fatalf("charge %s of %d tokens takes %d from its packs", id, wc.GetTokens(), sum)
		}
		k := [2]string{wc.GetUserId(), wc.GetProductCode()}
		start, end := wc.GetWindowStart().AsTime(), wc.GetWindowEnd().AsTime()
		if !end.Equal(start.Add(mDay)) || start.After(at) || !at.Before(end) {
			t.Fatalf("charge %s at %s opens the window [%s, %s)", id, at, start, end)
		}
		if last, ok := s.lastEnd[k]; ok && start.Before(last) {
			t.Fatalf("invariant 3: %s charges %v again for a window starting %s, before the last one ends (%s); renewal %v",
				id, k, start, last, wc.GetRenewal())
		}
		s.lastEnd[k] = end
	}
}

func figuresOf(ev *v1.Event) *v1.PoolFigures {
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_PackAdded:
		return pl.PackAdded.GetPool()
	case *v1.Event_WindowCharged:
		return pl.WindowCharged.GetPool()
	case *v1.Event_LaunchDenied:
		return pl.LaunchDenied.GetPool()
	case *v1.Event_PackExpired:
		return pl.PackExpired.GetPool()
	case *v1.Event_TokensAdjusted:
		return pl.TokensAdjusted.GetPool()
	case *v1.Event_PoolSuspended:
		return pl.PoolSuspended.GetPool()
	}
	return nil
}

func (w *world) launch(t *rapid.T, s *side, l Launch, first bool) {
	t.Helper()
	fp := Fingerprint(l.User, l.Product)
	prior, answered := s.model.answers[l.EventID]
	if !answered {
		got, want := s.core.QuoteLaunch(l.User, l.Product, l.At, w.cat), s.model.quote(l.User, l.Product, l.At)
		if got.Tokens != want.Tokens || got.Affordable != want.Affordable || got.DenyReason != want.DenyReason || got.BySubscription != want.BySubscription ||
			got.Balance != want.Balance || (got.Window == nil) != (want.Window == nil) || (got.Window != nil && got.Window.ID != want.Window.ID) {
			t.Fatalf("quote %s of %s for %s at %s: core %+v, model %+v", l.EventID, l.Product, l.User, l.At, got, want)
		}
	}
	var wantErr error
	if answered && prior.fingerprint != "" && prior.fingerprint != fp {
		wantErr = ErrEventIDReused
	}
	dueM := s.model.dueExpiries(l.At)
	var want mDecision
	if wantErr == nil {
		want = s.model.launch(l.EventID, l.User, l.Product, l.Attributes, l.At)
	}
	what := fmt.Sprintf("launch %s of %s by %s at %s", l.EventID, l.Product, l.User, l.At)
	err := w.step(t, s, l.At, dueM, func(p *Pool) ([]*v1.Event, error) {
		if err := p.CheckEventID(l.EventID, l.User, l.Product); err != nil {
			return nil, err
		}
		o, ev := p.DecideLaunch(l, w.cat)
		checkDecision(t, what, o, ev, want)
		return events(ev), nil
	})
	sameErr(t, what, err, wantErr)
	if first && err == nil {
		s.reqs = append(s.reqs, request{launch: &l})
	}
}

func (w *world) heartbeat(t *rapid.T, s *side, h Heartbeat, first bool) {
	t.Helper()
	fp := Fingerprint(h.User, h.Product)
	var wantErr error
	if prior, ok := s.model.answers[h.EventID]; ok && prior.fingerprint != "" && prior.fingerprint != fp {
		wantErr = ErrEventIDReused
	}
	dueM := s.model.dueExpiries(h.At)
	var want mDecision
	if wantErr == nil {
		want = s.model.heartbeat(h.EventID, h.User, h.Product, h.Active, h.IdleTimeout, h.At)
	}
	what := fmt.Sprintf("heartbeat %s (active %v) of %s by %s at %s", h.EventID, h.Active, h.Product, h.User, h.At)
	err := w.step(t, s, h.At, dueM, func(p *Pool) ([]*v1.Event, error) {
		if err := p.CheckEventID(h.EventID, h.User, h.Product); err != nil {
			return nil, err
		}
		o, ev := p.DecideHeartbeat(h, w.cat)
		checkDecision(t, what, o, ev, want)
		return events(ev), nil
	})
	sameErr(t, what, err, wantErr)
	if first && err == nil {
		s.reqs = append(s.reqs, request{heartbeat: &h})
	}
}

func (w *world) assign(t *rapid.T, s *side, user string, products []string) {
	t.Helper()
	id := w.nextID("as")
	dueM := s.model.dueExpiries(w.now)
	var wantErr error
	if len(products) == 0 {
		wantErr = ErrInvalid
	} else {
		s.model.users[user] = slices.Sorted(slices.Values(products))
		s.model.answers[id] = authorized
	}
	err := w.step(t, s, w.now, dueM, func(p *Pool) ([]*v1.Event, error) {
		ev, err := p.DecideAssign(id, user, products, w.now, nil)
		return []*v1.Event{ev}, err
	})
	sameErr(t, "assign "+id, err, wantErr)
}

func (w *world) addPack(t *rapid.T, s *side, pack string, tokens int64, purchased, expires, contractEnd time.Time) {
	t.Helper()
	c := AddPack{EventID: w.nextID("add"), PackID: pack, Tokens: tokens, PurchasedAt: purchased, ExpiresAt: expires,
		ContractEnd: contractEnd, At: w.now}
	dueM := s.model.dueExpiries(w.now)
	wantErr := s.model.addPack(c.EventID, pack, tokens, purchased, expires, contractEnd, w.now)
	err := w.step(t, s, w.now, dueM, func(p *Pool) ([]*v1.Event, error) {
		ev, err := p.DecideAddPack(c)
		if err != nil {
			return nil, err
		}
		if got, want := ev.GetPackAdded().GetExpiresAt().AsTime(), s.model.pack(pack).expiresAt; !got.Equal(want) {
			t.Fatalf("pack %s expires at %s, model says %s", pack, got, want)
		}
		return []*v1.Event{ev}, nil
	})
	sameErr(t, "add pack "+c.EventID, err, wantErr)
}

func (w *world) moveIn(t *rapid.T, pm pendingMove) {
	t.Helper()
	from, to := w.sides[pm.from], w.sides[1-pm.from]
	mv, ok := from.core.MoveOut(pm.id)
	if !ok {
		t.Fatalf("move %s is not recorded in %s", pm.id, from.core.Team)
	}
	dueM := to.model.dueExpiries(w.now)
	wantIDs, wantErr := to.model.moveIn(pm.id, from.model.moves[pm.id], w.now)
	err := w.step(t, to, w.now, dueM, func(p *Pool) ([]*v1.Event, error) {
		evs, err := p.DecideMoveIn(mv, from.core.Team, w.now, nil)
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, ev := range evs {
			ids = append(ids, ev.GetEventId())
		}
		if !slices.Equal(ids, wantIDs) {
			t.Fatalf("move %s into %s: core adds %v, model %v", pm.id, to.core.Team, ids, wantIDs)
		}
		return evs, nil
	})
	sameErr(t, "move in "+pm.id, err, wantErr)
}

func events(ev *v1.Event) []*v1.Event {
	if ev == nil {
		return nil
	}
	return []*v1.Event{ev}
}

func sameErr(t *rapid.T, what string, got, want error) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Fatalf("%s: core refused (%v), model accepts", what, got)
	case want != nil && !errors.Is(got, want):
		t.Fatalf("%s: core error %v, model expects %v", what, got, want)
	}
}

func sameAnswer(t *rapid.T, what string, got Outcome, want mAnswer) {
	t.Helper()
	if got.Decision != want.decision || got.DenyReason != want.reason || got.Tokens != want.tokens ||
		got.WindowID != want.windowID || !got.WindowEnd.Equal(want.windowEnd) || got.BalanceAfter != want.balance ||
		got.KeepRunning != want.keep || got.Fingerprint != want.fingerprint || got.BySubscription != want.bySub {
		t.Fatalf("%s:\ncore  %s %s tokens=%d window=%q end=%s balance=%d keep=%v fp=%q\nmodel %s %s tokens=%d window=%q end=%s balance=%d keep=%v fp=%q",
			what, got.Decision, got.DenyReason, got.Tokens, got.WindowID, got.WindowEnd, got.BalanceAfter, got.KeepRunning, got.Fingerprint,
			want.decision, want.reason, want.tokens, want.windowID, want.windowEnd, want.balance, want.keep, want.fingerprint)
	}
}

func checkDecision(t *rapid.T, what string, o Outcome, ev *v1.Event, want mDecision) {
	t.Helper()
	sameAnswer(t, what, o, want.ans)
	switch want.kind {
	case "":
		if ev != nil {
			t.Fatalf("%s: core appends %T, model expects nothing", what, ev.GetPayload())
		}
	case "subscribed":
		if e := ev.GetLaunchSubscribed(); e == nil || e.GetUserId()+"\x00"+e.GetProductCode() != want.ans.fingerprint {
			t.Fatalf("%s: core appends %v, model expects a launch by subscription", what, ev)
		}
	case "covered":
		if e := ev.GetLaunchCovered(); e == nil || e.GetWindowId() != want.ans.windowID {
			t.Fatalf("%s: core appends %v, model expects coverage by window %s", what, ev, want.ans.windowID)
		}
	case "denied":
		if e := ev.GetLaunchDenied(); e == nil || e.GetReason() != want.ans.reason {
			t.Fatalf("%s: core appends %v, model expects a denial (%s)", what, ev, want.ans.reason)
		}
	case "charged":
		e := ev.GetWindowCharged()
		if e == nil || e.GetTokens() != want.ans.tokens || !e.GetWindowStart().AsTime().Equal(want.start) {
			t.Fatalf("%s: core appends %v, model expects a charge of %d for a window from %s", what, ev, want.ans.tokens, want.start)
		}
		sameSplit(t, what, e.GetSplit(), want.parts)
	}
}

func sameSplit(t *rapid.T, what string, got []*v1.PackSplit, want []mPart) {
	t.Helper()
	var g, m []string
	for _, s := range got {
		g = append(g, fmt.Sprintf("%s:%d", s.GetPackId(), s.GetTokens()))
	}
	for _, p := range want {
		m = append(m, fmt.Sprintf("%s:%d", p.pack, p.tokens))
	}
	if !slices.Equal(g, m) {
		t.Fatalf("%s: core takes %v from the packs, model (burn-down order) %v", what, g, m)
	}
}

// check compares each core pool with its model after every step.
func (w *world) check(t *rapid.T) {
	for _, s := range w.sides {
		c, m, team := s.core, s.model, s.core.Team
		b := c.BalanceAt(w.now)
		if rb := s.replica.BalanceAt(w.now); fmt.Sprint(rb) != fmt.Sprint(b) || len(s.replica.applied) != len(c.applied) {
			t.Fatalf("%s: the core's own folds differ from a replica's of its log: balance %+v, replica %+v", team, b, rb)
		}
		live, next := int64(0), time.Time{}
		for _, pk := range m.packs {
			if m.live(pk, w.now) {
				live += pk.tokens
				if pk.remaining > 0 && (next.IsZero() || pk.expiresAt.Before(next)) {
					next = pk.expiresAt
				}
			}
		}
		got := []int64{b.Available, c.Available(), b.Purchased, b.Debited, b.Expired, b.Removed, b.Live}
		want := []int64{m.balanceAt(w.now), m.available(), m.purchased, m.debited, m.expired, m.removed, live}
		if !slices.Equal(got, want) || !b.NextExpiry.Equal(next) {
			t.Fatalf("%s at %s: balance (available now, available folded, purchased, debited, expired, removed, live) core %v, model %v; next expiry core %s, model %s",
				team, w.now, got, want, b.NextExpiry, next)
		}
		if c.Available() < 0 || b.Available < 0 {
			t.Fatalf("invariant 1: %s below zero: %v", team, got)
		}
		packs := c.Packs()
		if len(packs) != len(m.packs) {
			t.Fatalf("%s: core has %d packs, model %d", team, len(packs), len(m.packs))
		}
		for _, pk := range packs {
			mp := m.pack(pk.ID)
			if mp == nil || pk.Remaining != mp.remaining || pk.Expired != mp.expired || pk.Tokens != mp.tokens ||
				!pk.ExpiresAt.Equal(mp.expiresAt) || !pk.PurchasedAt.Equal(mp.purchasedAt) {
				t.Fatalf("%s: core pack %+v, model %+v", team, *pk, mp)
			}
		}
		if len(c.windows) != len(m.windows) {
			t.Fatalf("%s: core has %d windows, model %d", team, len(c.windows), len(m.windows))
		}
		for k, win := range m.windows {
			cw := c.windows[windowKey{k[0], k[1]}]
			if cw == nil || cw.ID != win.id || !cw.Start.Equal(win.start) || !cw.End.Equal(win.end) {
				t.Fatalf("%s: window of %v: core %+v, model %+v", team, k, cw, win)
			}
		}
		users := c.Users()
		for u := range users {
			sort.Strings(users[u])
		}
		if fmt.Sprint(users) != fmt.Sprint(m.users) {
			t.Fatalf("%s: users: core %v, model %v", team, users, m.users)
		}
		w.checkSubscriptions(t, s)
		checkGroups(t, s)
		if c.suspended != m.suspended {
			t.Fatalf("%s: suspended: core %v, model %v", team, c.suspended, m.suspended)
		}
		// Invariant 2: every id answered keeps its answer.
		if len(c.applied) != len(m.answers) {
			t.Fatalf("%s: core remembers %d event ids, model %d", team, len(c.applied), len(m.answers))
		}
		for id, a := range m.answers {
			o, ok := c.Applied(id)
			if !ok {
				t.Fatalf("%s: core forgot the answer to %s", team, id)
			}
			sameAnswer(t, team+": remembered answer to "+id, o, a)
		}
		budgets := c.Budgets(w.now)
		if len(budgets) != len(m.budgets) {
			t.Fatalf("%s: core has %d budgets, model %d", team, len(budgets), len(m.budgets))
		}
		for _, bs := range budgets {
			mb := m.budgets[bs.Budget.GetBudgetId()]
			if mb == nil || bs.Spent != mb.spent[mPeriodKey(mb.period, w.now)] {
				t.Fatalf("%s: budget %s spent %d, model %+v", team, bs.Budget.GetBudgetId(), bs.Spent, mb)
			}
		}
		for id, parts := range m.moves {
			mv, ok := c.MoveOut(id)
			if !ok || len(mv.Parts) != len(parts) {
				t.Fatalf("%s: move %s: core %+v, model %+v", team, id, mv, parts)
			}
			for i, p := range parts {
				cp := mv.Parts[i]
				if cp.PackID != p.pack || cp.Tokens != p.tokens || !cp.ExpiresAt.Equal(p.expiresAt) || !cp.PurchasedAt.Equal(p.purchasedAt) {
					t.Fatalf("%s: move %s part %d: core %+v, model %+v", team, id, i, cp, p)
				}
			}
		}
	}
}

// checkSnapshot: a snapshot taken after the first cut events, restored and
// folded with the rest, encodes to the same bytes as a replay of the whole
// log, and as the live pool.
func (w *world) checkSnapshot(t *rapid.T, s *side, cut int) {
	t.Helper()
	replay := func(p *Pool, evs []*v1.Event) *Pool {
		for _, ev := range evs {
			if err := p.Apply(ev); err != nil {
				t.Fatalf("replay %s: %v", ev.GetEventId(), err)
			}
		}
		return p
	}
	marshal := func(p *Pool) []byte {
		b, err := p.MarshalSnapshot()
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		return b
	}
	want := marshal(replay(New(mOrg, s.core.Team), s.log))
	if live := marshal(s.core); !bytes.Equal(live, want) {
		t.Fatalf("%s: the live pool differs from a replay of its log:\n%s", s.core.Team, firstDiff(live, want))
	}
	back, err := UnmarshalSnapshot(marshal(replay(New(mOrg, s.core.Team), s.log[:cut])))
	if err != nil {
		t.Fatalf("restore snapshot: %v", err)
	}
	if got := marshal(replay(back, s.log[cut:])); !bytes.Equal(got, want) {
		t.Fatalf("%s: snapshot after %d of %d events + tail differs from a full replay:\n%s",
			s.core.Team, cut, len(s.log), firstDiff(got, want))
	}
}

func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-80)
	clip := func(b []byte) string { return strings.TrimSpace(string(b[from:min(len(b), i+80)])) }
	return fmt.Sprintf("at byte %d\n got: …%s…\nwant: …%s…", i, clip(got), clip(want))
}
