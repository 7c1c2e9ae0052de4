package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Hash is the SHA-256 of a secret: all a keyring, or a key store, keeps.
func Hash(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// NewKeyID draws a random key id (12 hex digits): ids are published in
// actors and lists, so they must say nothing about the secret.
func NewKeyID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// AddHash stores a credential known only by its secret's hash, such as a
// launcher key created at run time and kept hashed in a shared store; p
// carries the key's id.
func (k *Keyring) AddHash(sum [32]byte, p Principal) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !p.Expires.IsZero() {
		k.dropExpired(time.Now()) // session keys that ended unrevoked: at most one sweep per sign-in
	}
	k.keys[sum] = p
}

func (k *Keyring) dropExpired(now time.Time) {
	for sum, p := range k.keys {
		if !p.Expires.IsZero() && !now.Before(p.Expires) {
			delete(k.keys, sum)
		}
	}
}

// RevokeHash removes the run-time credential whose secret hashes to sum.
func (k *Keyring) RevokeHash(sum [32]byte) {
	k.mu.Lock()
	delete(k.keys, sum)
	k.mu.Unlock()
}
