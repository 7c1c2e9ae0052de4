package store

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Webhooks are webhook endpoints with their secrets, key <org>.<team>.<webhook id>.
type Webhooks struct{ kv jetstream.KeyValue }

// Put stores a webhook of org.
func (w *Webhooks) Put(ctx context.Context, org string, hook *v1.Webhook) error {
	data, err := proto.Marshal(hook)
	if err != nil {
		return fmt.Errorf("encode webhook: %w", err)
	}
	if _, err := w.kv.Put(ctx, org+"."+hook.GetTeamId()+"."+hook.GetWebhookId(), data); err != nil {
		return fmt.Errorf("store webhook %s: %w", hook.GetWebhookId(), err)
	}
	return nil
}

// Delete removes a webhook (ErrNotFound: there was none).
func (w *Webhooks) Delete(ctx context.Context, org, team, id string) error {
	key := org + "." + team + "." + id
	if _, err := w.kv.Get(ctx, key); err != nil {
		return fmt.Errorf("webhook %s: %w", id, notFound(err))
	}
	if err := w.kv.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// List returns the webhooks of a team of org ("*": every team), secrets included.
func (w *Webhooks) List(ctx context.Context, org, team string) ([]*v1.Webhook, error) {
	entries, err := list(ctx, w.kv, org+"."+team+".*")
	if err != nil {
		return nil, err
	}
	out := make([]*v1.Webhook, 0, len(entries))
	for _, e := range entries {
		h := &v1.Webhook{}
		if err := proto.Unmarshal(e.Value(), h); err != nil {
			return nil, fmt.Errorf("decode webhook %s: %w", e.Key(), err)
		}
		out = append(out, h)
	}
	return out, nil
}

// DeadLetters are deliveries given up, key <org>.<team>.<webhook id>.<hash of the alert id>.
type DeadLetters struct{ kv jetstream.KeyValue }

// Put records a dead letter.
func (d *DeadLetters) Put(ctx context.Context, org string, dl *v1.DeadLetter) error {
	data, err := proto.Marshal(dl)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	key := org + "." + dl.GetTeamId() + "." + dl.GetWebhookId() + "." + Hash(dl.GetAlert().GetAlertId())
	if _, err := d.kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("store dead letter: %w", err)
	}
	return nil
}

// List returns the dead letters of a team of org ("*": every team).
func (d *DeadLetters) List(ctx context.Context, org, team string) ([]*v1.DeadLetter, error) {
	entries, err := list(ctx, d.kv, org+"."+team+".*.*")
	if err != nil {
		return nil, err
	}
	out := make([]*v1.DeadLetter, 0, len(entries))
	for _, e := range entries {
		dl := &v1.DeadLetter{}
		if err := proto.Unmarshal(e.Value(), dl); err != nil {
			return nil, fmt.Errorf("decode dead letter %s: %w", e.Key(), err)
		}
		out = append(out, dl)
	}
	return out, nil
}

// Held is how many dead letters the bucket holds: its distinct keys, which
// one stream info tells however many there are (a dead letter is never
// deleted, and a delivery given up twice keeps one key).
func (d *DeadLetters) Held(ctx context.Context) (int64, error) {
	st, err := d.kv.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("count dead letters: %w", err)
	}
	info, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return 0, fmt.Errorf("count dead letters: bucket status %T has no stream info", st)
	}
	return int64(info.StreamInfo().State.NumSubjects), nil
}
