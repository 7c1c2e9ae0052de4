package privacy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Setting is an organisation's personal-data setting as the log holds it.
type Setting struct {
	Show bool
	At   time.Time
	// Actor is who set it: role and key id ("owner:k-1a2b…").
	Actor  string
	Reason string
	// EventID is the id of the event that set it.
	EventID string
}

// Profile is a user's display name and e-mail address, for the directory.
type Profile struct {
	DisplayName, Email string
}

// Settings follows every organisation's personal-data setting on the
// catalog subjects of the LEDGER stream, the profiles its users were given
// there and its time zone (zone.go). Until an organisation sets it, it is pseudonymised.
type Settings struct {
	mu       sync.RWMutex
	byOrg    map[string]Setting
	profiles map[string]map[string]storedProfile // org → user → profile
	// erased are the users each organisation erased; each org's map is
	// replaced, never changed, so a Shown may hold it without a lock.
	erased map[string]map[string]Erasure
	zones  map[string]ZoneSetting
	// hidden is when each organisation last stopped showing its people.
	hidden   map[string]time.Time
	seq      map[string]uint64 // stream → last sequence read
	advanced chan struct{}     // closed and replaced whenever a seq moves
	follower *eventlog.Follower
}

// Follow starts following the settings and returns once it has read every
// setting already on the log (or ctx ends), so a service never answers with
// a setting older than its start.
func Follow(ctx context.Context, js jetstream.JetStream) (*Settings, error) {
	s := &Settings{byOrg: map[string]Setting{}, profiles: map[string]map[string]storedProfile{},
		erased: map[string]map[string]Erasure{}, zones: map[string]ZoneSetting{}, hidden: map[string]time.Time{},
		seq: map[string]uint64{}, advanced: make(chan struct{})}
	f, err := eventlog.FollowStreams(ctx, js, eventlog.LedgerStream, catalogFilter, s.handle, nil)
	if err != nil {
		return nil, fmt.Errorf("follow personal-data settings: %w", err)
	}
	s.follower = f
	return s, nil
}

// catalogFilter is every catalog subject of partition p's LEDGER stream.
func catalogFilter(p int) string { return subject.LedgerSubjectIn(p, "*", subject.CatalogToken) }

func (s *Settings) handle(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		return
	}
	ev, err := eventlog.Decode(msg.Data())
	_, org, _, ok := subject.PoolOfSubject(msg.Subject())
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && ok {
		s.apply(org, ev)
	}
	s.seq[meta.Stream] = meta.Sequence.Stream
	close(s.advanced)
	s.advanced = make(chan struct{})
}

func (s *Settings) apply(org string, ev *v1.Event) {
	if set := ev.GetPersonalDataSet(); set != nil {
		if !set.GetShow() && s.byOrg[org].Show {
			s.hidden[org] = ev.GetServerTime().AsTime()
		}
		s.byOrg[org] = Setting{Show: set.GetShow(), At: ev.GetServerTime().AsTime(),
			Actor: actorText(ev.GetActor()), Reason: set.GetReason(), EventID: ev.GetEventId()}
	}
	if z := ev.GetTimeZoneSet(); z != nil {
		s.applyZone(org, ev, z.GetZone())
	}
	if p := ev.GetUserProfileSet(); p != nil {
		s.setProfile(org, p)
	}
	if e := ev.GetUserErased(); e != nil {
		s.erase(org, e.GetUserId(), Erasure{At: ev.GetServerTime().AsTime(), Actor: actorText(ev.GetActor()),
			Reason: e.GetReason(), EventID: ev.GetEventId()})
	}
}

func actorText(a *v1.Actor) string { return a.GetKind() + ":" + a.GetId() }

// HiddenSince is when org last switched from showing its people to
// pseudonyms (zero if it never showed them): what was written about them
// before then may name them.
func (s *Settings) HiddenSince(org string) time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.hidden[org]
}

// ShowsPersonalData reports whether org shows its people as they are.
func (s *Settings) ShowsPersonalData(org string) bool {
	set, _ := s.Get(org)
	return set.Show
}

// Get returns org's setting and whether it ever set one.
func (s *Settings) Get(org string) (Setting, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	set, ok := s.byOrg[org]
	return set, ok
}

// WaitFor blocks until the settings have read sequence seq of stream.
func (s *Settings) WaitFor(ctx context.Context, stream string, seq uint64) error {
	for {
		s.mu.RLock()
		done, ch := s.seq[stream] >= seq, s.advanced
		s.mu.RUnlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// AnyPseudonymised reports whether some organisation among orgs is
// pseudonymised.
func (s *Settings) AnyPseudonymised(orgs []string) bool {
	for _, o := range orgs {
		if !s.ShowsPersonalData(o) {
			return true
		}
	}
	return false
}

// Stop stops following.
func (s *Settings) Stop() { s.follower.Stop() }

// Follow makes sure stream (a LEDGER stream an organisation's catalog was
// just placed in) is followed, without waiting for the next discovery.
func (s *Settings) Follow(ctx context.Context, stream string) error {
	return s.follower.Ensure(ctx, stream)
}
