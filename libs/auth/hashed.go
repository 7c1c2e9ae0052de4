package auth

import (
	"crypto/sha256"
	"encoding/hex"
)

// Hash is the SHA-256 of a secret: all a keyring, or a key store, keeps.
func Hash(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// KeyID is the public id of a credential: a prefix of its secret's hash.
func KeyID(sum [32]byte) string { return hex.EncodeToString(sum[:6]) }

// AddHash stores a credential known only by its secret's hash, such as a
// launcher key created at run time and kept hashed in a shared store.
func (k *Keyring) AddHash(sum [32]byte, p Principal) {
	p.KeyID = KeyID(sum)
	k.mu.Lock()
	k.keys[sum] = p
	k.mu.Unlock()
}

// RevokeHash removes the credential whose secret hashes to sum.
func (k *Keyring) RevokeHash(sum [32]byte) {
	k.mu.Lock()
	delete(k.keys, sum)
	k.mu.Unlock()
}
