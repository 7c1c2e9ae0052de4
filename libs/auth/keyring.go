package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Keyring holds credentials by the SHA-256 of their secret; secrets are never
// kept. Static keys come from a keyring spec and are replaced whole by
// Reload; keys created at run time are added and removed one by one.
type Keyring struct {
	mu     sync.RWMutex
	static map[[32]byte]Principal
	keys   map[[32]byte]Principal
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring {
	return &Keyring{static: map[[32]byte]Principal{}, keys: map[[32]byte]Principal{}}
}

// ParseKeyring returns a keyring holding the static keys of spec (ParseSpec).
func ParseKeyring(spec string) (*Keyring, error) {
	k := NewKeyring()
	if _, err := k.Reload(spec); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload replaces the static keys with those of spec and returns them; on an
// error the keys stay as they were.
func (k *Keyring) Reload(spec string) ([]Entry, error) {
	entries, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	static := make(map[[32]byte]Principal, len(entries))
	for _, e := range entries {
		static[e.Hash] = e.Principal
	}
	k.mu.Lock()
	k.static = static
	k.mu.Unlock()
	return entries, nil
}

// Authenticate returns the principal of secret. Lookup is by hash, so the
// time it takes says nothing about the secret.
func (k *Keyring) Authenticate(secret string) (Principal, error) {
	sum := sha256.Sum256([]byte(secret))
	k.mu.RLock()
	defer k.mu.RUnlock()
	if p, ok := k.static[sum]; ok {
		return p, nil
	}
	if p, ok := k.keys[sum]; ok && (p.Expires.IsZero() || time.Now().Before(p.Expires)) {
		return p, nil
	}
	return Principal{}, ErrUnauthenticated
}
