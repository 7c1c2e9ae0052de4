package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Acks are acknowledgements, key <org>.<hash of the alert id>.
type Acks struct{ kv jetstream.KeyValue }

// Ack is who acknowledged an alert, and when.
type Ack struct {
	By string
	At time.Time
}

func ackKey(org, alertID string) string { return org + "." + Hash(alertID) }

// Hash is a short, key-safe digest of an id.
func Hash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:12])
}

// Put records an acknowledgement; the first one stays.
func (a *Acks) Put(ctx context.Context, org, alertID string, ack Ack) (Ack, error) {
	data, err := proto.Marshal(&v1.Alert{AlertId: alertID, AcknowledgedBy: ack.By, AcknowledgedAt: timestamppb.New(ack.At), Acknowledged: true})
	if err != nil {
		return Ack{}, fmt.Errorf("encode ack: %w", err)
	}
	if _, err := a.kv.Create(ctx, ackKey(org, alertID), data); err != nil {
		if existing, gerr := a.Get(ctx, org, alertID); gerr == nil {
			return existing, nil
		}
		return Ack{}, fmt.Errorf("store ack of %s: %w", alertID, err)
	}
	return ack, nil
}

// Get returns an alert's acknowledgement (ErrNotFound: none).
func (a *Acks) Get(ctx context.Context, org, alertID string) (Ack, error) {
	e, err := a.kv.Get(ctx, ackKey(org, alertID))
	if err != nil {
		return Ack{}, fmt.Errorf("ack of %s: %w", alertID, notFound(err))
	}
	rec := &v1.Alert{}
	if err := proto.Unmarshal(e.Value(), rec); err != nil {
		return Ack{}, fmt.Errorf("decode ack of %s: %w", alertID, err)
	}
	return Ack{By: rec.GetAcknowledgedBy(), At: rec.GetAcknowledgedAt().AsTime()}, nil
}
