package config

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

func authenticates(ring *auth.Keyring, secret string) func() bool {
	return func() bool { _, err := ring.Authenticate(secret); return err == nil }
}

// A SIGHUP reloads the keyring file without a restart: a removed key stops
// working, an added one starts, the inline keys stay.
func TestKeyringReloadsOnSIGHUP(t *testing.T) {
	old := keyFileCheck
	keyFileCheck = time.Hour // only the signal may reload here
	t.Cleanup(func() { keyFileCheck = old })
	file := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(file, []byte("# admins\nold@old-admin-key:acme:admin\n"), 0o600))
	c := Common{APIKeys: "inline-admin-key:acme:admin", APIKeysFile: file}
	ring, err := c.Keyring(t.Context(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.True(t, authenticates(ring, "old-admin-key")())

	require.NoError(t, os.WriteFile(file, []byte("new@new-admin-key:acme:admin\n"), 0o600))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, authenticates(ring, "new-admin-key"), 5*time.Second, 10*time.Millisecond)
	require.False(t, authenticates(ring, "old-admin-key")())
	require.True(t, authenticates(ring, "inline-admin-key")())

	require.NoError(t, os.WriteFile(file, []byte("not a key\n"), 0o600))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	time.Sleep(100 * time.Millisecond)
	require.True(t, authenticates(ring, "new-admin-key")(), "a bad file keeps the last good keys")
}

// A change of the file (a Kubernetes Secret volume being updated) reloads
// it too, without a signal.
func TestKeyringReloadsWhenTheFileChanges(t *testing.T) {
	old := keyFileCheck
	keyFileCheck = 20 * time.Millisecond
	t.Cleanup(func() { keyFileCheck = old })
	file := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(file, []byte("old-admin-key:acme:admin"), 0o600))
	c := Common{APIKeysFile: file}
	ring, err := c.Keyring(t.Context(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte("new-admin-key:acme:admin,more@more-admin-key:acme:admin"), 0o600))
	require.Eventually(t, authenticates(ring, "new-admin-key"), 5*time.Second, 10*time.Millisecond)
	require.False(t, authenticates(ring, "old-admin-key")())
}

func TestValidateReadsTheKeyring(t *testing.T) {
	c := Common{Listen: "127.0.0.1:0", NATSURL: "nats://x", LogLevel: "info", APIKeys: "x:acme:admin"}
	require.ErrorContains(t, c.Validate(), "at least 8")
	c.APIKeys, c.APIKeysFile = "", filepath.Join(t.TempDir(), "missing")
	require.ErrorContains(t, c.Validate(), "-api-keys-file")
}

// A service's own key, given as a file, is reread on SIGHUP: the next call
// carries the rotated key, with no restart.
func TestCallerKeyReloadsOnSIGHUP(t *testing.T) {
	old := keyFileCheck
	keyFileCheck = time.Hour
	t.Cleanup(func() { keyFileCheck = old })
	file := filepath.Join(t.TempDir(), "ledger-api-key")
	require.NoError(t, os.WriteFile(file, []byte("old-service-key\n"), 0o600))
	key, err := CallerKey(t.Context(), slog.New(slog.DiscardHandler), "ledger-api-key", "", file)
	require.NoError(t, err)
	sent := func() string {
		md, err := key.GetRequestMetadata(t.Context())
		require.NoError(t, err)
		return md["authorization"]
	}
	require.Equal(t, "Bearer old-service-key", sent())
	require.NoError(t, os.WriteFile(file, []byte("new-service-key"), 0o600))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return sent() == "Bearer new-service-key" }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, os.WriteFile(file, []byte("two keys"), 0o600))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, "Bearer new-service-key", sent(), "a bad file keeps the last key")

	_, err = CallerKey(t.Context(), slog.New(slog.DiscardHandler), "ledger-api-key", "", filepath.Join(t.TempDir(), "none"))
	require.ErrorContains(t, err, "-ledger-api-key-file")
}

// Plaintext secrets in the keyring of a service listening beyond loopback
// are worth a warning: production keyrings hold hashes.
func TestPlaintextKeysBeyondLoopbackWarn(t *testing.T) {
	for listen, warned := range map[string]bool{":7071": true, "127.0.0.1:0": false} {
		var out bytes.Buffer
		c := Common{APIKeys: "plain-admin-key:acme:admin", Listen: listen}
		_, err := c.Keyring(t.Context(), slog.New(slog.NewTextHandler(&out, nil)))
		require.NoError(t, err)
		require.Equal(t, warned, strings.Contains(out.String(), "level=WARN"), "%s: %s", listen, out.String())
	}
}
