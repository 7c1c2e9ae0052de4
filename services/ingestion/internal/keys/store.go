// Package keys keeps per-team launcher keys: admins create and revoke them,
// a JetStream KV bucket stores them hashed, and every ingestion replica
// watches the bucket so a revocation takes effect everywhere within a second.
package keys

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
)

// Bucket is the KV bucket of launcher keys: key "<org>.<key id>", value a
// JSON record holding the secret's SHA-256, never the secret.
const Bucket = "LAUNCHER_KEYS"

// SecretPrefix starts every launcher key secret, so leaked ones are easy to spot.
const SecretPrefix = "tmk_"

// ErrNotFound means no key of the organisation has that id.
var ErrNotFound = errors.New("no such launcher key")

// Record is a stored launcher key.
type Record struct {
	KeyID     string     `json:"key_id"`
	SHA256    string     `json:"sha256"`
	Org       string     `json:"org"`
	Team      string     `json:"team"`
	Label     string     `json:"label,omitempty"`
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func (r Record) hash() ([32]byte, error) {
	var sum [32]byte
	b, err := hex.DecodeString(r.SHA256)
	if err != nil || len(b) != len(sum) {
		return sum, fmt.Errorf("launcher key %s: bad hash", r.KeyID)
	}
	copy(sum[:], b)
	return sum, nil
}

func (r Record) principal() auth.Principal {
	return auth.Principal{KeyID: r.KeyID, Org: r.Org, Team: r.Team, Role: auth.RoleLauncher}
}

// Store creates, revokes and lists launcher keys in the bucket.
type Store struct {
	kv jetstream.KeyValue
}

// Open provisions the bucket (idempotently) and returns the store.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	if replicas < 1 {
		replicas = 1
	}
	kv, err := eventlog.OpenBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "tokenmeter launcher keys (SHA-256 of the secret)", History: 5, Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("launcher key bucket: %w", err)
	}
	return &Store{kv: kv}, nil
}

// KV is the bucket, for watchers.
func (s *Store) KV() jetstream.KeyValue { return s.kv }

// Create makes a key for team and returns its secret, which is not kept. Its
// id is drawn at random: ids are published, so they must not be a function
// of the secret.
func (s *Store) Create(ctx context.Context, org, team, label, createdBy string, now time.Time) (string, Record, error) {
	for range 3 {
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return "", Record{}, fmt.Errorf("launcher key secret: %w", err)
		}
		secret := SecretPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
		sum := auth.Hash(secret)
		rec := Record{
			KeyID: auth.NewKeyID(), SHA256: hex.EncodeToString(sum[:]), Org: org, Team: team,
			Label: label, CreatedBy: createdBy, CreatedAt: now.UTC(),
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return "", Record{}, fmt.Errorf("encode launcher key: %w", err)
		}
		_, err = s.kv.Create(ctx, kvKey(org, rec.KeyID), data)
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // a key id collision: draw again
		}
		if err != nil {
			return "", Record{}, fmt.Errorf("store launcher key: %w", err)
		}
		return secret, rec, nil
	}
	return "", Record{}, errors.New("store launcher key: key ids kept colliding")
}

// Revoke marks the key revoked; revoking twice answers the first revocation.
func (s *Store) Revoke(ctx context.Context, org, keyID string, now time.Time) (Record, error) {
	for {
		entry, err := s.kv.Get(ctx, kvKey(org, keyID))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return Record{}, ErrNotFound
		}
		if err != nil {
			return Record{}, fmt.Errorf("read launcher key %s: %w", keyID, err)
		}
		var rec Record
		if err := json.Unmarshal(entry.Value(), &rec); err != nil {
			return Record{}, fmt.Errorf("decode launcher key %s: %w", keyID, err)
		}
		if rec.RevokedAt != nil {
			return rec, nil
		}
		at := now.UTC()
		rec.RevokedAt = &at
		data, err := json.Marshal(rec)
		if err != nil {
			return Record{}, fmt.Errorf("encode launcher key: %w", err)
		}
		_, err = s.kv.Update(ctx, entry.Key(), data, entry.Revision())
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // changed under us: read again
		}
		if err != nil {
			return Record{}, fmt.Errorf("revoke launcher key %s: %w", keyID, err)
		}
		return rec, nil
	}
}

// List returns the organisation's keys, oldest first.
func (s *Store) List(ctx context.Context, org string) ([]Record, error) {
	w, err := s.kv.Watch(ctx, org+".*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list launcher keys: %w", err)
	}
	defer func() { _ = w.Stop() }()
	var out []Record
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list launcher keys: %w", ctx.Err())
		case entry := <-w.Updates():
			if entry == nil {
				slices.SortFunc(out, func(a, b Record) int { return a.CreatedAt.Compare(b.CreatedAt) })
				return out, nil
			}
			var rec Record
			if err := json.Unmarshal(entry.Value(), &rec); err != nil {
				return nil, fmt.Errorf("decode launcher key %s: %w", entry.Key(), err)
			}
			out = append(out, rec)
		}
	}
}

func kvKey(org, keyID string) string { return org + "." + keyID }

// ValidKeyID reports whether id looks like a key id (12 hex digits).
func ValidKeyID(id string) bool {
	if len(id) != 12 {
		return false
	}
	return strings.Trim(id, "0123456789abcdef") == ""
}
