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
	"slices"
	"strings"
)

// demoState is how far a demo load got: its plan, whether the products,
// packs and assignments are set, and how many launches (in plan order) the
// ledger has taken.
type demoState struct {
	Plan      demoPlan `json:"plan"`
	Ledger    string   `json:"ledger"`
	Org       string   `json:"org"`
	SetupDone bool     `json:"setup_done"`
	Done      int      `json:"done"`
}

// loadState finds the state of an interrupted load of the same plan (the
// same ledger, organisation, teams, users, weeks and seed) and adopts its
// --until unless one was given, so a resume replays the same days.
func (l *demoLoad) loadState() (*demoState, error) {
	s := l.app.settings
	if l.statePath == "" {
		dir := l.app.o.Getenv("XDG_STATE_HOME")
		if dir == "" {
			home := l.app.o.Getenv("HOME")
			if home == "" {
				var err error
				if home, err = os.UserHomeDir(); err != nil {
					return nil, errors.New("no $XDG_STATE_HOME or home directory for the demo load's state: pass --state-file")
				}
			}
			dir = filepath.Join(home, ".local", "state")
		}
		p := l.plan
		sum := sha256.Sum256(fmt.Appendf(nil, "%s\n%s\n%s\n%d\n%d\n%d", s.LedgerAddr, s.Org, strings.Join(p.Teams, ","), p.Users, p.Weeks, p.Seed))
		name := strings.Trim(unsafeName.ReplaceAllString(s.LedgerAddr, "_"), "_") + "-" + hex.EncodeToString(sum[:6]) + ".json"
		l.statePath = filepath.Join(dir, "tokenmeter", "demo-load", name)
	}
	fresh := &demoState{Plan: l.plan, Ledger: s.LedgerAddr, Org: s.Org}
	data, err := os.ReadFile(l.statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return fresh, nil
	}
	if err != nil {
		return nil, fmt.Errorf("demo load state: %w", err)
	}
	var st demoState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("demo load state %s is unreadable (%w): delete it to start over (nothing is charged twice)", l.statePath, err)
	}
	p, q := st.Plan, l.plan
	same := st.Ledger == s.LedgerAddr && st.Org == s.Org && slices.Equal(p.Teams, q.Teams) && p.Users == q.Users && p.Weeks == q.Weeks && p.Seed == q.Seed
	if !same || (l.untilSet && p.Until != q.Until) {
		return fresh, nil // another load: start this one afresh
	}
	l.plan.Until = p.Until
	return &st, nil
}

// save writes the state atomically.
func (st *demoState) save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("demo load state: %w (pass --state-file to keep it elsewhere)", err)
	}
	return writeFileAtomic(path, st)
}

// remove forgets a finished load.
func (st *demoState) remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("demo load state: %w", err)
	}
	return nil
}
