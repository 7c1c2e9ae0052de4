package tokenctl

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// watchState is where a watch stands: every alert up to LastSequence of the
// ALERTS stream has been printed (or was already there when it first
// started), so the next run asks for LastSequence+1.
type watchState struct {
	Endpoint     string    `json:"endpoint"`
	Org          string    `json:"org,omitempty"`
	Teams        []string  `json:"teams,omitempty"`
	Kinds        []string  `json:"kinds,omitempty"`
	LastSequence uint64    `json:"last_sequence"`
	UpdatedAt    time.Time `json:"updated_at"`
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// defaultStatePath is the state file of a watch under
// $XDG_STATE_HOME/tokenmeter/alerts-watch/: one per endpoint, credential and
// filter, since a sequence is a resume point only for the same stream
// seen through the same organisation and filters. The name holds no secret:
// only a digest of the key with the filters.
func defaultStatePath(getenv func(string) string, endpoint, apiKey, org string, teams, kinds []string) (string, error) {
	dir := getenv("XDG_STATE_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			var err error
			if home, err = os.UserHomeDir(); err != nil {
				return "", errors.New("no $XDG_STATE_HOME or home directory for the watch state: pass --state-file")
			}
		}
		dir = filepath.Join(home, ".local", "state")
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{apiKey, org, strings.Join(teams, ","), strings.Join(kinds, ",")}, "\n")))
	name := strings.Trim(unsafeName.ReplaceAllString(endpoint, "_"), "_") + "-" + hex.EncodeToString(sum[:6]) + ".json"
	return filepath.Join(dir, "tokenmeter", "alerts-watch", name), nil
}

// loadState reads path; found is false when there is no state yet.
func loadState(path string) (st watchState, found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return watchState{}, false, nil
	}
	if err != nil {
		return watchState{}, false, fmt.Errorf("read watch state: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return watchState{}, false, fmt.Errorf("watch state %s is unreadable (%w): delete it to start from now, or pass --from N", path, err)
	}
	return st, true, nil
}

// save replaces path's content atomically (a crash leaves the old state or
// the new one, never half of one).
func (st watchState) save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("watch state: %w (pass --state-file to keep it elsewhere)", err)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("watch state: %w (pass --state-file to keep it elsewhere)", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write watch state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write watch state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write watch state: %w", err)
	}
	return nil
}

// sortedSet returns ids split on commas, sorted, without blanks or duplicates.
func sortedSet(ids []string) []string {
	var out []string
	for _, id := range ids {
		for _, p := range strings.Split(id, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
