// Package keystore keeps keys created at run time — launcher keys, people's
// access keys — in a JetStream KV bucket, hashed, and keeps keyrings in step
// with it, so a key created or revoked on one replica of one service counts
// on every replica of every service within a second.
package keystore

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

// ErrNotFound means no key of the organisation has that id.
var ErrNotFound = errors.New("no such key")

// Record is a stored key: key "<org>.<key id>" in its bucket, the secret's
// SHA-256 and never the secret.
type Record struct {
	KeyID  string `json:"key_id"`
	SHA256 string `json:"sha256"`
	Org    string `json:"org"`
	Team   string `json:"team,omitempty"`
	// Role is empty for launcher keys (the records of LAUNCHER_KEYS predate roles).
	Role      string     `json:"role,omitempty"`
	Label     string     `json:"label,omitempty"`
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Person is whom a console session's key stands for ("sso:<id>"): the
	// actor of its calls. Empty for keys made through the API.
	Person string `json:"person,omitempty"`
	// ExpiresAt ends a session key by itself (nil: a key lasts until revoked).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Hash is the SHA-256 the record holds.
func (r Record) Hash() ([32]byte, error) {
	var sum [32]byte
	b, err := hex.DecodeString(r.SHA256)
	if err != nil || len(b) != len(sum) {
		return sum, fmt.Errorf("key %s: bad hash", r.KeyID)
	}
	copy(sum[:], b)
	return sum, nil
}

// Principal is who the key's holder is.
func (r Record) Principal() auth.Principal {
	role := auth.Role(r.Role)
	if role == "" {
		role = auth.RoleLauncher
	}
	p := auth.Principal{KeyID: r.KeyID, Org: r.Org, Team: r.Team, Role: role}
	if r.Person != "" {
		p.KeyID = r.Person // actors name the person, not the session's key
	}
	if r.ExpiresAt != nil {
		p.Expires = *r.ExpiresAt
	}
	return p
}

// Kind is one bucket of keys.
type Kind struct {
	Bucket, Description string
	// SecretPrefix starts every secret, so leaked ones are easy to spot.
	SecretPrefix string
	// Admits says whether a record may enter a keyring: a record of the
	// wrong role (a forged one) is ignored.
	Admits func(Record) bool
	// TTL drops records this long after their last change (0: kept).
	TTL time.Duration
}

// Store creates, revokes and lists the keys of one bucket.
type Store struct {
	kv   jetstream.KeyValue
	kind Kind
}

// Open provisions the bucket (idempotently) and returns the store.
func Open(ctx context.Context, js jetstream.JetStream, kind Kind, replicas int) (*Store, error) {
	kv, err := eventlog.OpenBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket: kind.Bucket, Description: kind.Description, History: 5, Replicas: max(replicas, 1), TTL: kind.TTL,
	})
	if err != nil {
		return nil, fmt.Errorf("key bucket %s: %w", kind.Bucket, err)
	}
	return &Store{kv: kv, kind: kind}, nil
}

// KV is the bucket, for watchers.
func (s *Store) KV() jetstream.KeyValue { return s.kv }

// Create stores a key like tmpl (org, team, role, label, creator) and
// returns its secret, which is not kept. Its id is drawn at random: ids are
// published, so they must not be a function of the secret.
func (s *Store) Create(ctx context.Context, tmpl Record, now time.Time) (string, Record, error) {
	for range 3 {
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return "", Record{}, fmt.Errorf("key secret: %w", err)
		}
		secret := s.kind.SecretPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
		sum := auth.Hash(secret)
		rec := tmpl
		rec.KeyID, rec.SHA256, rec.CreatedAt, rec.RevokedAt = auth.NewKeyID(), hex.EncodeToString(sum[:]), now.UTC(), nil
		data, err := json.Marshal(rec)
		if err != nil {
			return "", Record{}, fmt.Errorf("encode key: %w", err)
		}
		_, err = s.kv.Create(ctx, kvKey(rec.Org, rec.KeyID), data)
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // a key id collision: draw again
		}
		if err != nil {
			return "", Record{}, fmt.Errorf("store key: %w", err)
		}
		return secret, rec, nil
	}
	return "", Record{}, errors.New("store key: key ids kept colliding")
}

// Revoke marks the key revoked; revoking twice answers the first revocation.
func (s *Store) Revoke(ctx context.Context, org, keyID string, now time.Time) (Record, error) {
	for {
		entry, err := s.kv.Get(ctx, kvKey(org, keyID))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return Record{}, ErrNotFound
		}
		if err != nil {
			return Record{}, fmt.Errorf("read key %s: %w", keyID, err)
		}
		var rec Record
		if err := json.Unmarshal(entry.Value(), &rec); err != nil {
			return Record{}, fmt.Errorf("decode key %s: %w", keyID, err)
		}
		if rec.RevokedAt != nil {
			return rec, nil
		}
		at := now.UTC()
		rec.RevokedAt = &at
		data, err := json.Marshal(rec)
		if err != nil {
			return Record{}, fmt.Errorf("encode key: %w", err)
		}
		_, err = s.kv.Update(ctx, entry.Key(), data, entry.Revision())
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // changed under us: read again
		}
		if err != nil {
			return Record{}, fmt.Errorf("revoke key %s: %w", keyID, err)
		}
		return rec, nil
	}
}

// List returns the organisation's keys, oldest first.
func (s *Store) List(ctx context.Context, org string) ([]Record, error) {
	w, err := s.kv.Watch(ctx, org+".*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer func() { _ = w.Stop() }()
	var out []Record
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list keys: %w", ctx.Err())
		case entry := <-w.Updates():
			if entry == nil {
				slices.SortFunc(out, func(a, b Record) int { return a.CreatedAt.Compare(b.CreatedAt) })
				return out, nil
			}
			var rec Record
			if err := json.Unmarshal(entry.Value(), &rec); err != nil {
				return nil, fmt.Errorf("decode key %s: %w", entry.Key(), err)
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

// Kind is the store's kind of keys.
func (s *Store) Kind() Kind { return s.kind }
