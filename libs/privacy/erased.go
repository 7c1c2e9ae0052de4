package privacy

import (
	"maps"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// storedProfile is a profile as the log holds it: sealed under the user's
// key (keyID), or in plain text when written before profiles were sealed.
type storedProfile struct {
	plain  Profile
	sealed []byte
	keyID  string
}

// Erasure is the erasure of a user's personal data as the log holds it.
type Erasure struct {
	At time.Time
	// Actor is who erased: role and key id ("admin:k-1a2b…").
	Actor, Reason string
	// EventID is the id of the event that erased.
	EventID string
}

// Lock should be held.
func (s *Settings) setProfile(org string, p *v1.UserProfileSet) {
	if _, gone := s.erased[org][p.GetUserId()]; gone {
		return // an erased user's profile is never shown again
	}
	users := s.profiles[org]
	if users == nil {
		users = map[string]storedProfile{}
		s.profiles[org] = users
	}
	if p.GetSealed() == nil && p.GetDisplayName() == "" && p.GetEmail() == "" {
		delete(users, p.GetUserId())
		return
	}
	users[p.GetUserId()] = storedProfile{plain: Profile{DisplayName: p.GetDisplayName(), Email: p.GetEmail()},
		sealed: p.GetSealed(), keyID: p.GetKeyId()}
}

// erase records the first erasure of user and forgets the user's profile,
// including one the log holds in plain text. Lock should be held.
func (s *Settings) erase(org, user string, e Erasure) {
	if _, done := s.erased[org][user]; done {
		return
	}
	next := maps.Clone(s.erased[org])
	if next == nil {
		next = map[string]Erasure{}
	}
	next[user] = e
	s.erased[org] = next
	delete(s.profiles[org], user)
}

func (s *Settings) profile(org, user string) (storedProfile, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.profiles[org][user]
	return p, ok
}

// Erased returns the erasure of org's user, if it was erased.
func (s *Settings) Erased(org, user string) (Erasure, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.erased[org][user]
	return e, ok
}

// ErasedIn returns the users org erased. The map is never changed: do
// not change it either.
func (s *Settings) ErasedIn(org string) map[string]Erasure {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.erased[org]
}
