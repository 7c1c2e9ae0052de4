package config

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/certs"
)

// maxKeyFile bounds the keyring file.
const maxKeyFile = 4 << 20

// keyFileCheck is how often the keyring file's modification time is looked at
// (a variable for tests); a SIGHUP reloads at once.
var keyFileCheck = 10 * time.Second

// keySpec is the static keyring: -api-keys followed by -api-keys-file.
func (c *Common) keySpec() (string, error) {
	if c.APIKeysFile == "" {
		return c.APIKeys, nil
	}
	b, err := readSmall(c.APIKeysFile)
	if err != nil {
		return "", fmt.Errorf("-api-keys-file: %w", err)
	}
	return c.APIKeys + "\n" + string(b), nil
}

// readSmall reads a key file of at most maxKeyFile bytes.
func readSmall(file string) ([]byte, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxKeyFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxKeyFile)
	}
	return os.ReadFile(file)
}

// Keyring loads the static keys and keeps them current until ctx ends: a
// SIGHUP, or a change of -api-keys-file, reloads them without a restart
// (keys added at run time, such as launcher keys, stay). A reload that fails
// keeps the keys as they were and says why in the log.
func (c *Common) Keyring(ctx context.Context, log *slog.Logger) (*auth.Keyring, error) {
	ring := auth.NewKeyring()
	err := follow(ctx, c.APIKeysFile, log, "api keys", func() error { return c.reloadKeys(ring, log) })
	return ring, err
}

// CallerKey is the key a service calls another with: value (flag -name), or
// the contents of file (flag -name-file), reread on SIGHUP or when the file
// changes so that a rotated key needs no restart.
func CallerKey(ctx context.Context, log *slog.Logger, name, value, file string) (*auth.RotatingBearer, error) {
	if file == "" {
		return auth.NewRotatingBearer(value), nil
	}
	key := auth.NewRotatingBearer("")
	err := follow(ctx, file, log, name, func() error {
		b, err := readSmall(file)
		if err != nil {
			return fmt.Errorf("-%s-file: %w", name, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" || strings.ContainsAny(v, " \t\n,") {
			return fmt.Errorf("-%s-file %s: want one key", name, file)
		}
		key.Set(v)
		log.Info("key loaded", "key", name)
		return nil
	})
	return key, err
}

// follow calls load now, then again on SIGHUP or when file changes, until
// ctx ends; a failed reload is logged and changes nothing.
func follow(ctx context.Context, file string, log *slog.Logger, what string, load func() error) error {
	changed := fileChanged(file) // before the load: a change during it is seen
	if err := load(); err != nil {
		return err
	}
	every := keyFileCheck
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			case <-tick.C:
				if !changed() {
					continue
				}
			}
			if err := load(); err != nil {
				log.Error(what+" not reloaded; the previous stay", "err", err)
			}
		}
	}()
	return nil
}

func (c *Common) reloadKeys(ring *auth.Keyring, log *slog.Logger) error {
	spec, err := c.keySpec()
	if err != nil {
		return err
	}
	entries, err := ring.Reload(spec)
	if err != nil {
		return fmt.Errorf("api keys: %w", err)
	}
	plaintext := 0
	for _, e := range entries {
		if e.Plaintext {
			plaintext++
		}
	}
	log.Info("api keys loaded", "keys", len(entries), "plaintext", plaintext)
	if plaintext > 0 && !certs.Loopback(c.Listen) {
		log.Warn("api keys given as plaintext secrets on a listener beyond loopback: give their sha256 hashes instead (tokenctl keys static)", "plaintext", plaintext)
	}
	return nil
}

// fileChanged reports, each time it is called, whether file's modification
// time or size differs from the last call's.
func fileChanged(file string) func() bool {
	stamp := func() (time.Time, int64) {
		if file == "" {
			return time.Time{}, 0
		}
		st, err := os.Stat(file)
		if err != nil {
			return time.Time{}, -1
		}
		return st.ModTime(), st.Size()
	}
	last, size := stamp()
	return func() bool {
		t, s := stamp()
		if t.Equal(last) && s == size {
			return false
		}
		last, size = t, s
		return true
	}
}
