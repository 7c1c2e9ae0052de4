// Package privacy decides, per organisation, whether reports show users as
// they are known (names, e-mail addresses: the user id the launchers send) or
// only as a stable pseudonym: a keyed hash of the user id.
package privacy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
)

// Prefix starts every pseudonym, so a reader tells one from a real id.
const Prefix = "u_"

// Policy is the personal-data setting of every organisation.
type Policy struct {
	key  []byte
	all  bool
	orgs map[string]bool
}

// NewPolicy returns the policy: orgs lists the organisations whose reports
// show personal data ("*" all of them); key keys the hash of everyone else's
// user ids, so the same user gets the same pseudonym in every report and
// export, and no one without the key can test a guessed id against it.
func NewPolicy(orgs []string, key string) *Policy {
	p := &Policy{key: []byte(key), orgs: map[string]bool{}}
	for _, o := range orgs {
		o = strings.TrimSpace(o)
		switch o {
		case "":
		case "*":
			p.all = true
		default:
			p.orgs[o] = true
		}
	}
	return p
}

// ParseOrgs splits a comma-separated organisation list.
func ParseOrgs(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// ShowsPersonalData reports whether org's reports show user ids as they are.
func (p *Policy) ShowsPersonalData(org string) bool { return p.all || p.orgs[org] }

// memoUsers bounds the pseudonyms one Users function remembers.
const memoUsers = 1 << 16

// Users returns the function that shows org's user ids in its reports. It
// is meant for one report and safe for concurrent use: it remembers the
// pseudonyms it made (an export names the same users on row after row, and
// a keyed hash costs a microsecond).
func (p *Policy) Users(org string) func(string) string {
	if p.ShowsPersonalData(org) {
		return func(id string) string { return id }
	}
	var (
		mu   sync.Mutex
		memo = map[string]string{}
	)
	return func(id string) string {
		mu.Lock()
		s, ok := memo[id]
		mu.Unlock()
		if ok {
			return s
		}
		s = p.pseudonym(org, id)
		mu.Lock()
		if len(memo) < memoUsers {
			memo[id] = s
		}
		mu.Unlock()
		return s
	}
}

func (p *Policy) pseudonym(org, id string) string {
	if id == "" {
		return ""
	}
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte(org))
	mac.Write([]byte{0})
	mac.Write([]byte(id))
	return Prefix + hex.EncodeToString(mac.Sum(nil)[:10])
}
