package rules

import (
	"fmt"
	"math"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// sessionGap is how long without a heartbeat ends a session for this rule.
const sessionGap = 2 * time.Hour

// Sessions folds USAGE events (launches, heartbeats, session ends) into open
// sessions and raises long_session once per session open longer than the
// configured hours. Not safe for concurrent use.
type Sessions struct {
	settings
	open      map[sessionKey]*session
	lastPrune time.Time
}

type sessionKey struct{ org, team, user, product, device string }

type session struct {
	start, last time.Time
	fired       bool
}

// NewSessions returns a sessions fold with no state.
func NewSessions(defaults Config) (*Sessions, error) {
	s, err := newSettings(defaults)
	if err != nil {
		return nil, err
	}
	return &Sessions{settings: s, open: map[sessionKey]*session{}}, nil
}

// SetTeamConfig gives a team its own rules (nil: back to the defaults).
func (s *Sessions) SetTeamConfig(org, team string, cfg *Config) { s.set(org, team, cfg) }

// Source is the stream the fold reads.
func (s *Sessions) Source() string { return subject.UsageStream }

// Open is the number of sessions tracked (for tests and metrics).
func (s *Sessions) Open() int { return len(s.open) }

// Apply folds the USAGE event at seq.
func (s *Sessions) Apply(seq uint64, ev *v1.Event) []*v1.Alert {
	if ev.GetServerTime() == nil {
		return nil
	}
	at := ev.GetServerTime().AsTime()
	s.prune(at)
	k := sessionKey{org: ev.GetOrgId(), team: ev.GetTeamId()}
	switch p := ev.GetPayload().(type) {
	case *v1.Event_LaunchReceived:
		if p.LaunchReceived.GetDecision() != v1.Decision_DECISION_AUTHORIZED {
			return nil
		}
		k.user, k.product, k.device = p.LaunchReceived.GetUserId(), p.LaunchReceived.GetProductCode(), p.LaunchReceived.GetDeviceId()
		s.touch(k, at)
		return nil
	case *v1.Event_HeartbeatReceived:
		h := p.HeartbeatReceived
		k.user, k.product, k.device = h.GetUserId(), h.GetProductCode(), h.GetDeviceId()
		return s.heartbeat(seq, k, at)
	case *v1.Event_SessionEnded:
		e := p.SessionEnded
		delete(s.open, sessionKey{k.org, k.team, e.GetUserId(), e.GetProductCode(), e.GetDeviceId()})
	}
	return nil
}

// Tick is a no-op: sessions are judged at their heartbeats.
func (s *Sessions) Tick(uint64, time.Time) []*v1.Alert { return nil }

func (s *Sessions) touch(k sessionKey, at time.Time) *session {
	ss := s.open[k]
	if ss == nil || at.Sub(ss.last) > sessionGap {
		ss = &session{start: at}
		s.open[k] = ss
	}
	if at.After(ss.last) {
		ss.last = at
	}
	return ss
}

func (s *Sessions) heartbeat(seq uint64, k sessionKey, at time.Time) []*v1.Alert {
	ss := s.touch(k, at)
	cfg := s.of(teamKey{k.org, k.team}).LongSession
	open := at.Sub(ss.start)
	if ss.fired || !cfg.Enabled || open < time.Duration(cfg.Hours*float64(time.Hour)) {
		return nil
	}
	ss.fired = true
	hours := math.Floor(open.Hours()*10) / 10
	msg := fmt.Sprintf("%s of team %s has had %s open on %s for %s hours (since %s UTC)",
		k.user, k.team, k.product, k.device, formatFloat(hours), ss.start.UTC().Format("2006-01-02 15:04"))
	rs := raise{org: k.org, team: k.team, seq: seq, at: at}
	a := rs.alert(KindLongSession, v1.Severity_SEVERITY_WARNING, msg, map[string]float64{
		"hours_open":  hours,
		"limit_hours": cfg.Hours,
	}, k.user, k.product, k.device)
	a.SourceStream = subject.UsageStream
	return []*v1.Alert{a}
}

// prune forgets sessions silent for longer than the gap, once an hour of event time.
func (s *Sessions) prune(at time.Time) {
	if at.Sub(s.lastPrune) < time.Hour {
		return
	}
	s.lastPrune = at
	stale := []sessionKey{}
	for k, ss := range s.open {
		if at.Sub(ss.last) > sessionGap {
			stale = append(stale, k)
		}
	}
	for _, k := range stale {
		delete(s.open, k)
	}
}
