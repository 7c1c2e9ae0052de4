package sso

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"sync"
	"time"
)

// perSubject bounds one person's sessions: a new sign-in beyond it ends
// that person's oldest, so one account cannot fill the store.
const perSubject = 8

var errFull = errors.New("the console has as many sessions as it may hold")

// Session is one signed-in person.
type Session struct {
	Subject, Name string
	// Person is whom the session's calls name as their actor ("sso:…").
	Person string
	Grant  Grant
	// CSRF must come back in X-CSRF-Token with every call that is not a GET.
	CSRF    string
	Expires time.Time
	// key is the session's own secret, keyID its record's id.
	key, keyID string
}

// store keeps sessions in memory, by the SHA-256 of their cookie value (a
// dump of the map holds no cookie). Server-side, so the key a session acts
// with never leaves the server.
type store struct {
	mu       sync.Mutex
	sessions map[[32]byte]*Session
	max      int
	now      func() time.Time
}

func newStore(max int, now func() time.Time) *store {
	return &store{sessions: map[[32]byte]*Session{}, max: max, now: now}
}

// add stores s and returns the cookie value that finds it, and the session
// it ended to make room, if any (whose key is to be revoked).
func (st *store) add(s Session) (string, *Session, error) {
	id, csrf := random(), random()
	s.CSRF = csrf
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	var mine []([32]byte)
	for k, v := range st.sessions {
		switch {
		case !now.Before(v.Expires):
			delete(st.sessions, k)
		case v.Subject == s.Subject:
			mine = append(mine, k)
		}
	}
	var ended *Session
	if len(mine) >= perSubject {
		oldest := mine[0]
		for _, k := range mine[1:] {
			if st.sessions[k].Expires.Before(st.sessions[oldest].Expires) {
				oldest = k
			}
		}
		ended = st.sessions[oldest]
		delete(st.sessions, oldest)
	}
	if len(st.sessions) >= st.max {
		return "", ended, errFull
	}
	st.sessions[sha256.Sum256([]byte(id))] = &s
	return id, ended, nil
}

// get returns the live session of a cookie value; an expired one is removed.
func (st *store) get(id string) (Session, bool) {
	k := sha256.Sum256([]byte(id))
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.sessions[k]
	if !ok {
		return Session{}, false
	}
	if !st.now().Before(s.Expires) {
		delete(st.sessions, k)
		return Session{}, false
	}
	return *s, true
}

// remove ends a session and returns it.
func (st *store) remove(id string) (Session, bool) {
	k := sha256.Sum256([]byte(id))
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.sessions[k]
	if !ok {
		return Session{}, false
	}
	delete(st.sessions, k)
	return *s, true
}

// removeGrant ends the sessions an API grant opened and returns them.
func (st *store) removeGrant(org, id string) []Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []Session
	for k, v := range st.sessions {
		if v.Grant.ID == id && v.Grant.Org == org {
			out = append(out, *v)
			delete(st.sessions, k)
		}
	}
	return out
}

func (st *store) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.sessions)
}

// random is 256 bits from the system's generator, URL-safe.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}
