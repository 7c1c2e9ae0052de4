// Package privacy is how every service shows an organisation's people: as
// they are, or as keyed pseudonyms. Whether an organisation shows personal
// data is its own setting on the log (Settings); an organisation that never
// set it is pseudonymised. One key (-user-hash-key, the same in every
// service) keys every pseudonym, so a user has one pseudonym in reports,
// exports, ledger reads and alerts, and no one without it can test a guess.
package privacy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
	"sync"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Prefixes start every pseudonym, so a reader tells one from a real id and
// a user's from a device's, an event's or an attribute value's.
const (
	Prefix       = "u_"
	DevicePrefix = "d_"
	EventPrefix  = "e_"
	ValuePrefix  = "a_"
)

// Source says whether an organisation shows personal data.
type Source interface {
	ShowsPersonalData(org string) bool
}

// Fixed is a Source answering the same for every organisation (tests, tools).
type Fixed bool

// ShowsPersonalData reports f.
func (f Fixed) ShowsPersonalData(string) bool { return bool(f) }

// Policy shows people by their organisation's setting.
type Policy struct {
	key []byte
	src Source
}

// New returns the policy keyed with key, taking each organisation's setting from src.
func New(key string, src Source) *Policy { return &Policy{key: []byte(key), src: src} }

// ShowsPersonalData reports whether org shows its people as they are.
func (p *Policy) ShowsPersonalData(org string) bool { return p.src.ShowsPersonalData(org) }

// Users returns the function that shows org's user ids in one answer.
func (p *Policy) Users(org string) func(string) string { return p.For(org).User }

// For returns how org's people are shown in one answer (a report, a page, an
// alert). It is safe for concurrent use and remembers the pseudonyms it made:
// an export names the same users row after row, and a keyed hash costs a
// microsecond.
func (p *Policy) For(org string) *Shown {
	s := &Shown{p: p, org: org, raw: p.ShowsPersonalData(org), memo: map[string]string{}}
	if s.raw {
		s.erased = p.erasedIn(org)
	}
	return s
}

// eraser is a Source that knows the users each organisation erased.
type eraser interface {
	ErasedIn(org string) map[string]Erasure
}

// erasedIn returns the users org erased (none when the source cannot say).
func (p *Policy) erasedIn(org string) map[string]Erasure {
	if e, ok := p.src.(eraser); ok {
		return e.ErasedIn(org)
	}
	return nil
}

// Mask is For(ev's organisation).Mask(ev), without the answer's memory
// when the organisation shows its people and erased none of them.
func (p *Policy) Mask(ev *v1.Event) *v1.Event {
	if p.ShowsPersonalData(ev.GetOrgId()) && len(p.erasedIn(ev.GetOrgId())) == 0 {
		return ev
	}
	return p.For(ev.GetOrgId()).Mask(ev)
}

// memoSize bounds the pseudonyms one Shown remembers.
const memoSize = 1 << 16

// Shown shows one organisation's people in one answer.
type Shown struct {
	p   *Policy
	org string
	raw bool
	// erased are the users shown by pseudonym even where org shows people.
	erased map[string]Erasure
	mu     sync.Mutex
	memo   map[string]string
	once   sync.Once
	hidden *Shown
}

// Raw reports whether people are shown as they are.
func (s *Shown) Raw() bool { return s.raw }

// User shows a user id: an erased user's by pseudonym always.
func (s *Shown) User(id string) string {
	if s.raw && s.isErased(id) {
		return s.pseudonymous().User(id)
	}
	return s.show(Prefix, id)
}

func (s *Shown) isErased(user string) bool {
	_, ok := s.erased[user]
	return ok
}

// Row returns how to show the devices, event ids and attributes of one of
// user's rows: pseudonymised when user was erased, else as s shows them.
func (s *Shown) Row(user string) *Shown {
	if s.raw && s.isErased(user) {
		return s.pseudonymous()
	}
	return s
}

// pseudonymous is s for people shown by pseudonym.
func (s *Shown) pseudonymous() *Shown {
	s.once.Do(func() { s.hidden = &Shown{p: s.p, org: s.org, memo: map[string]string{}} })
	return s.hidden
}

// Device shows a device id (often a person's machine name).
func (s *Shown) Device(id string) string { return s.show(DevicePrefix, id) }

// Event shows an event id (launchers often build them from user and device).
func (s *Shown) Event(id string) string { return s.show(EventPrefix, id) }

// Attributes shows launch attributes: the values of those whose key names a
// person (PersonalAttribute) are pseudonymised; m is not changed.
func (s *Shown) Attributes(m map[string]string) map[string]string {
	if s.raw || len(m) == 0 {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if PersonalAttribute(k) {
			v = s.show(ValuePrefix, v)
		}
		out[k] = v
	}
	return out
}

// Value shows the value of attribute key: pseudonymised when key is personal.
func (s *Shown) Value(key, v string) string {
	if !PersonalAttribute(key) {
		return v
	}
	if s.raw && s.isErased(v) { // the value is an erased user's id
		return s.pseudonymous().show(ValuePrefix, v)
	}
	return s.show(ValuePrefix, v)
}

func (s *Shown) show(prefix, id string) string {
	if s.raw || id == "" {
		return id
	}
	key := prefix + id
	s.mu.Lock()
	v, ok := s.memo[key]
	s.mu.Unlock()
	if ok {
		return v
	}
	v = Pseudonym(s.p.key, s.org, prefix, id)
	s.mu.Lock()
	if len(s.memo) < memoSize {
		s.memo[key] = v
	}
	s.mu.Unlock()
	return v
}

// Pseudonym is the one pseudonym function: prefix and 20 hex digits of an
// HMAC-SHA256 keyed with key over the organisation, the kind and the id.
// Users' pseudonyms hash the organisation and id alone, as they always did,
// so pseudonyms already handed out stay the same.
func Pseudonym(key []byte, org, prefix, id string) string {
	mac := hmac.New(sha256.New, key)
	write(mac, org)
	if prefix != Prefix {
		write(mac, prefix)
	}
	mac.Write([]byte(id))
	return prefix + hex.EncodeToString(mac.Sum(nil)[:10])
}

func write(h hash.Hash, s string) {
	h.Write([]byte(s))
	h.Write([]byte{0})
}

// personalWords are the words of attribute keys whose values name a person
// or a person's machine.
var personalWords = map[string]bool{
	"user": true, "username": true, "login": true, "email": true, "mail": true, "name": true,
	"person": true, "owner": true, "employee": true, "host": true, "hostname": true,
	"device": true, "machine": true, "computer": true, "computername": true, "ip": true, "account": true,
}

// PersonalAttribute reports whether an attribute key names something
// personal: one of its words (split at anything not a letter or digit, and
// at lower-to-upper case changes) is a personal word.
func PersonalAttribute(key string) bool {
	word := strings.Builder{}
	prevLower := false
	for _, r := range key + " " {
		isLetter := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
		upper := 'A' <= r && r <= 'Z'
		if !isLetter || upper && prevLower {
			if personalWords[strings.ToLower(word.String())] {
				return true
			}
			word.Reset()
		}
		if isLetter {
			word.WriteRune(r)
		}
		prevLower = 'a' <= r && r <= 'z'
	}
	return false
}
