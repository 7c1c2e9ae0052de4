package sso

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// loginTTL is how long a started sign-in may take at the provider.
const loginTTL = 10 * time.Minute

// maxLoginCookie bounds the login cookie read back (it is ~300 bytes).
const maxLoginCookie = 1024

// pending is a sign-in under way: the state the provider must send back,
// the PKCE verifier and the nonce the ID token must carry.
type pending struct {
	State    string    `json:"s"`
	Verifier string    `json:"v"`
	Nonce    string    `json:"n"`
	Expires  time.Time `json:"e"`
}

// sealer encrypts pending sign-ins into the browser's login cookie, so
// nothing is kept on the server for visitors who have not signed in. Its
// key is made at start: sign-ins under way across a restart start again.
type sealer struct{ aead cipher.AEAD }

func newSealer() (*sealer, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(p pending) string {
	plain, _ := json.Marshal(p) // plain strings and a time: cannot fail
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, nil))
}

var errLoginState = errors.New("no sign-in under way in this browser, or it took too long")

func (s *sealer) open(v string, now time.Time) (pending, error) {
	if len(v) > maxLoginCookie {
		return pending{}, errLoginState
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return pending{}, errLoginState
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return pending{}, errLoginState
	}
	var p pending
	if json.Unmarshal(plain, &p) != nil || !now.Before(p.Expires) {
		return pending{}, errLoginState
	}
	return p, nil
}
