package natsauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nkeys"
)

// SeedFile is where WriteSeeds keeps an identity's nkey seed in dir.
func SeedFile(dir, name string) string { return filepath.Join(dir, name+".nk") }

// WriteSeeds makes an nkey user seed file (0600) in dir for each named
// identity that has none yet, and returns every named identity's public key.
// Existing seeds are kept, so a server configured from them stays valid.
func WriteSeeds(dir string, names ...string) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("nats seeds: %w", err)
	}
	pubs := make(map[string]string, len(names))
	for _, name := range names {
		path := SeedFile(dir, name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if err := newSeed(path); err != nil {
				return nil, err
			}
		}
		pub, err := PublicKey(path)
		if err != nil {
			return nil, err
		}
		pubs[name] = pub
	}
	return pubs, nil
}

func newSeed(path string) error {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return fmt.Errorf("nats seed: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return fmt.Errorf("nats seed: %w", err)
	}
	// O_EXCL: two starts racing on one directory keep the first seed.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("nats seed: %w", err)
	}
	if _, err := f.Write(append(seed, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("nats seed %s: %w", path, err)
	}
	return f.Close()
}

// PublicKey is the public nkey (U…) of a seed file: what a server lists.
func PublicKey(seedFile string) (string, error) {
	contents, err := os.ReadFile(seedFile)
	if err != nil {
		return "", fmt.Errorf("nats seed: %w", err)
	}
	kp, err := nkeys.ParseDecoratedNKey(contents)
	if err != nil {
		return "", fmt.Errorf("nats seed %s: %w", seedFile, err)
	}
	defer kp.Wipe()
	return kp.PublicKey()
}
