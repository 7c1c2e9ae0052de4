package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Settings are each team's own rule settings, key <org>.<team>.
type Settings struct{ kv jetstream.KeyValue }

// Get returns a team's settings (ErrNotFound: none, the defaults apply).
func (s *Settings) Get(ctx context.Context, org, team string) (*v1.AlertRules, error) {
	e, err := s.kv.Get(ctx, org+"."+team)
	if err != nil {
		return nil, fmt.Errorf("rules of %s/%s: %w", org, team, notFound(err))
	}
	return decodeSettings(e.Value())
}

// Put stores a team's settings.
func (s *Settings) Put(ctx context.Context, org, team string, rules *v1.AlertRules) error {
	data, err := proto.Marshal(rules)
	if err != nil {
		return fmt.Errorf("encode rules: %w", err)
	}
	if _, err := s.kv.Put(ctx, org+"."+team, data); err != nil {
		return fmt.Errorf("store rules of %s/%s: %w", org, team, err)
	}
	return nil
}

// TeamSettings is one team's stored settings.
type TeamSettings struct {
	Org, Team string
	// Rules is nil when the team's settings were removed.
	Rules *v1.AlertRules
}

// List returns the settings of every team of org.
func (s *Settings) List(ctx context.Context, org string) ([]TeamSettings, error) {
	entries, err := list(ctx, s.kv, org+".*")
	if err != nil {
		return nil, err
	}
	out := make([]TeamSettings, 0, len(entries))
	for _, e := range entries {
		ts, err := teamSettings(e)
		if err != nil {
			return nil, err
		}
		out = append(out, ts)
	}
	return out, nil
}

// Watch sends every team's settings, then nil once they are all sent, then
// every change, until ctx ends.
func (s *Settings) Watch(ctx context.Context) (<-chan *TeamSettings, error) {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", RulesBucket, err)
	}
	out := make(chan *TeamSettings)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		for {
			var next *TeamSettings
			select {
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil {
					ts, err := teamSettings(e)
					if err != nil {
						continue // written by hand, not through SetRules: ignore
					}
					next = &ts
				}
			case <-ctx.Done():
				return
			}
			select {
			case out <- next:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func teamSettings(e jetstream.KeyValueEntry) (TeamSettings, error) {
	org, team, ok := strings.Cut(e.Key(), ".")
	if !ok {
		return TeamSettings{}, fmt.Errorf("rules key %q: want <org>.<team>", e.Key())
	}
	ts := TeamSettings{Org: org, Team: team}
	if e.Operation() != jetstream.KeyValuePut {
		return ts, nil
	}
	r, err := decodeSettings(e.Value())
	if err != nil {
		return ts, err
	}
	ts.Rules = r
	return ts, nil
}

func decodeSettings(data []byte) (*v1.AlertRules, error) {
	r := &v1.AlertRules{}
	if err := proto.Unmarshal(data, r); err != nil {
		return nil, errors.Join(errors.New("decode rules"), err)
	}
	return r, nil
}
