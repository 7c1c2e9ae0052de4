package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
)

// Keyring holds credentials by the SHA-256 of their secret; secrets are never kept.
type Keyring struct {
	mu   sync.RWMutex
	keys map[[32]byte]Principal
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring { return &Keyring{keys: map[[32]byte]Principal{}} }

// ParseKeyring reads a static keyring: comma-separated "secret:org:role[:team]"
// entries, as given by flag or environment.
func ParseKeyring(spec string) (*Keyring, error) {
	k := NewKeyring()
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.Split(entry, ":")
		if len(parts) < 3 || len(parts) > 4 {
			return nil, fmt.Errorf("api key %d: want secret:org:role[:team], got %d fields", i+1, len(parts))
		}
		p := Principal{Org: parts[1], Role: Role(parts[2])}
		if len(parts) == 4 {
			p.Team = parts[3]
		}
		switch p.Role {
		case RoleAdmin, RoleService:
		case RoleLauncher:
			if p.Team == "" {
				return nil, fmt.Errorf("api key %d: a launcher key needs a team", i+1)
			}
		default:
			return nil, fmt.Errorf("api key %d: unknown role %q (admin, launcher or service)", i+1, p.Role)
		}
		if len(parts[0]) < 8 {
			return nil, fmt.Errorf("api key %d: secret must be at least 8 characters", i+1)
		}
		k.Add(parts[0], p)
	}
	return k, nil
}

// Add stores a credential; its key id is a prefix of the secret's hash.
func (k *Keyring) Add(secret string, p Principal) {
	sum := sha256.Sum256([]byte(secret))
	p.KeyID = hex.EncodeToString(sum[:6])
	k.mu.Lock()
	k.keys[sum] = p
	k.mu.Unlock()
}

// Revoke removes a credential.
func (k *Keyring) Revoke(secret string) {
	sum := sha256.Sum256([]byte(secret))
	k.mu.Lock()
	delete(k.keys, sum)
	k.mu.Unlock()
}

// Authenticate returns the principal of secret. Lookup is by hash, so the
// time it takes says nothing about the secret.
func (k *Keyring) Authenticate(secret string) (Principal, error) {
	sum := sha256.Sum256([]byte(secret))
	k.mu.RLock()
	defer k.mu.RUnlock()
	p, ok := k.keys[sum]
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	return p, nil
}
