// Package store keeps alerting's own durable state in JetStream KV buckets:
// each team's rule settings, acknowledgements, webhook endpoints and dead
// letters. JetStream is the system's only store.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
)

// Bucket names.
const (
	RulesBucket       = "ALERTING_RULES"
	AcksBucket        = "ALERTING_ACKS"
	WebhooksBucket    = "ALERTING_WEBHOOKS"
	DeadLettersBucket = "ALERTING_DEADLETTERS"
)

// ErrNotFound is returned for a key that holds nothing.
var ErrNotFound = errors.New("not found")

// Stores are alerting's buckets.
type Stores struct {
	Settings    *Settings
	Acks        *Acks
	Webhooks    *Webhooks
	DeadLetters *DeadLetters
}

// Open creates or updates the buckets (replicas 0 means 1).
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Stores, error) {
	if replicas == 0 {
		replicas = 1
	}
	open := func(name, desc string) (jetstream.KeyValue, error) {
		kv, err := eventlog.OpenBucket(ctx, js, jetstream.KeyValueConfig{Bucket: name, Description: desc, Replicas: replicas, History: 5})
		if err != nil {
			return nil, fmt.Errorf("provision bucket %s: %w", name, err)
		}
		return kv, nil
	}
	rules, err := open(RulesBucket, "tokenmeter alert rule settings per team: <org>.<team>")
	if err != nil {
		return nil, err
	}
	acks, err := open(AcksBucket, "tokenmeter alert acknowledgements: <org>.<alert id hash>")
	if err != nil {
		return nil, err
	}
	hooks, err := open(WebhooksBucket, "tokenmeter alert webhooks: <org>.<team>.<webhook id>")
	if err != nil {
		return nil, err
	}
	dead, err := open(DeadLettersBucket, "tokenmeter webhook deliveries given up: <org>.<team>.<webhook id>.<alert id hash>")
	if err != nil {
		return nil, err
	}
	return &Stores{Settings: &Settings{kv: rules}, Acks: &Acks{kv: acks}, Webhooks: &Webhooks{kv: hooks}, DeadLetters: &DeadLetters{kv: dead}}, nil
}

// list returns every entry whose key matches filter.
func list(ctx context.Context, kv jetstream.KeyValue, filter string) ([]jetstream.KeyValueEntry, error) {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list %s %s: %w", kv.Bucket(), filter, err)
	}
	defer func() { _ = w.Stop() }()
	var out []jetstream.KeyValueEntry
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return out, fmt.Errorf("list %s %s: watcher closed", kv.Bucket(), filter)
			}
			if e == nil {
				return out, nil
			}
			out = append(out, e)
		case <-ctx.Done():
			return out, fmt.Errorf("list %s %s: %w", kv.Bucket(), filter, ctx.Err())
		}
	}
}

func notFound(err error) error {
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return ErrNotFound
	}
	return err
}
