package sso

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/keystore"
)

// TestStoreBounds: one person holds at most perSubject sessions (a new one
// ends their oldest); the store refuses beyond its maximum.
func TestStoreBounds(t *testing.T) {
	now := time.Now()
	st := newStore(perSubject+1, func() time.Time { return now })
	var first string
	for i := range perSubject + 1 {
		id, ended, err := st.add(Session{Subject: "ann", keyID: fmt.Sprint(i), Expires: now.Add(time.Hour + time.Duration(i)*time.Second)})
		require.NoError(t, err)
		if i == 0 {
			first = id
		}
		if i < perSubject {
			require.Nil(t, ended)
		} else {
			require.Equal(t, "0", ended.keyID, "the session made way for is handed back, to revoke its key")
		}
	}
	require.Equal(t, perSubject, st.len())
	_, ok := st.get(first)
	require.False(t, ok, "ann's oldest session made way for her newest")
	_, _, err := st.add(Session{Subject: "bob", Expires: now.Add(time.Hour)})
	require.NoError(t, err)
	_, _, err = st.add(Session{Subject: "cyd", Expires: now.Add(time.Hour)})
	require.ErrorIs(t, err, errFull)
	now = now.Add(2 * time.Hour)
	_, _, err = st.add(Session{Subject: "cyd", Expires: now.Add(time.Hour)})
	require.NoError(t, err, "expired sessions make room")
	require.Equal(t, 1, st.len())
}

// TestProviderDown: a sign-in while the provider does not answer gets a
// clear page, and the next within discoveryRetry does not wait on it again.
func TestProviderDown(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"secret": "s", "grants": "acme:admin:admin\n"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600))
	}
	var asked atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		asked.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	s, err := New(t.Context(), Config{Issuer: down.URL, ClientID: "c", ClientSecretFile: filepath.Join(dir, "secret"),
		RedirectURL: "http://127.0.0.1:2/auth/callback", OrgClaim: "org", RoleClaim: "role", GrantsFile: filepath.Join(dir, "grants"),
		Lifetime: time.Hour, MaxSessions: 1}, &keystore.Store{}, pseudonyms, nil, slog.Default())
	require.NoError(t, err)
	mux := http.NewServeMux()
	s.Routes(mux)
	for range 2 {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/auth/login", nil))
		require.Equal(t, http.StatusBadGateway, w.Code)
		require.Contains(t, w.Body.String(), "The identity provider cannot be reached")
	}
	require.Equal(t, int32(1), asked.Load(), "the second sign-in did not ask the provider again")
}
