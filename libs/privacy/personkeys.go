package privacy

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// PersonKeysBucket holds one AES-256 key per user given a profile. The
// ledger writes it (and deletes a key to erase its user); reporting reads
// it to show the directory. Erasing a key makes every profile sealed with
// it unreadable, wherever the log's bytes went (crypto-shredding).
const PersonKeysBucket = natsauth.PersonKeys

// personKey is one user's key as the bucket holds it.
type personKey struct {
	ID  string `json:"id"`
	Key []byte `json:"key"`
}

// keyName is the bucket key of a user's key: the organisation and the
// user's pseudonym, so the bucket (and the purge marker erasure leaves in
// it) never holds a user id.
func keyName(hashKey []byte, org, user string) string {
	return org + "." + Pseudonym(hashKey, org, Prefix, user)
}

// PersonKeys seals profiles and erases their keys (the ledger's side).
type PersonKeys struct {
	kv      jetstream.KeyValue
	hashKey []byte
}

// OpenPersonKeys provisions the bucket (idempotently), keeping no history:
// a deleted key leaves no earlier revision behind.
func OpenPersonKeys(ctx context.Context, js jetstream.JetStream, hashKey string, replicas int) (*PersonKeys, error) {
	kv, err := eventlog.OpenBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket: PersonKeysBucket, Description: "tokenmeter per-user keys sealing display names and e-mail addresses",
		History: 1, Replicas: max(replicas, 1),
	})
	if err != nil {
		return nil, err
	}
	return &PersonKeys{kv: kv, hashKey: []byte(hashKey)}, nil
}

// Seal seals p under user's key, made on first use, and returns the sealed
// bytes and the key's id (UserProfileSet.sealed and key_id).
func (k *PersonKeys) Seal(ctx context.Context, org, user string, p Profile) (sealed []byte, keyID string, err error) {
	key, err := k.keyOf(ctx, keyName(k.hashKey, org, user))
	if err != nil {
		return nil, "", err
	}
	plain, err := proto.Marshal(&v1.UserProfileSet{DisplayName: p.DisplayName, Email: p.Email})
	if err != nil {
		return nil, "", err
	}
	aead, err := newAEAD(key.Key)
	if err != nil {
		return nil, "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", err
	}
	return aead.Seal(nonce, nonce, plain, additional(org, user, key.ID)), key.ID, nil
}

// keyOf returns the key stored under name, creating it when there is none.
func (k *PersonKeys) keyOf(ctx context.Context, name string) (personKey, error) {
	for range 3 {
		entry, err := k.kv.Get(ctx, name)
		if err == nil {
			var key personKey
			if err := json.Unmarshal(entry.Value(), &key); err != nil {
				return personKey{}, fmt.Errorf("person key unreadable: %w", err)
			}
			return key, nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return personKey{}, fmt.Errorf("read person key: %w", err)
		}
		key := personKey{ID: randomHex(8), Key: make([]byte, 32)}
		if _, err := rand.Read(key.Key); err != nil {
			return personKey{}, err
		}
		data, _ := json.Marshal(key)
		if _, err = k.kv.Create(ctx, name, data); err == nil {
			return key, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return personKey{}, fmt.Errorf("store person key: %w", err)
		}
		// Another replica made it first: read theirs.
	}
	return personKey{}, errors.New("person key kept changing")
}

// Erase deletes user's key and every earlier revision of it. Erasing a
// user without a key, or twice, is harmless.
func (k *PersonKeys) Erase(ctx context.Context, org, user string) error {
	if err := k.kv.Purge(ctx, keyName(k.hashKey, org, user)); err != nil {
		return fmt.Errorf("erase person key: %w", err)
	}
	return nil
}

// open opens a profile sealed with key for org's user.
func open(key personKey, org, user, keyID string, sealed []byte) (Profile, bool) {
	if key.ID != keyID {
		return Profile{}, false // sealed under a key since erased
	}
	aead, err := newAEAD(key.Key)
	if err != nil || len(sealed) < aead.NonceSize() {
		return Profile{}, false
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], additional(org, user, keyID))
	if err != nil {
		return Profile{}, false
	}
	var p v1.UserProfileSet
	if proto.Unmarshal(plain, &p) != nil {
		return Profile{}, false
	}
	return Profile{DisplayName: p.GetDisplayName(), Email: p.GetEmail()}, true
}

// additional binds a sealed profile to its organisation, user and key, so
// one cannot be passed off as another's.
func additional(org, user, keyID string) []byte {
	return []byte(org + "\x00" + user + "\x00" + keyID)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
