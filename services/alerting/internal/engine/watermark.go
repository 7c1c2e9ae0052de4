package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// watermark is how far the ALERTS stream already got: the LEDGER sequence of
// the last alert stored, and the ids of every alert raised by that same LEDGER
// message (one event can raise several alerts, and a crash can fall between
// them).
type watermark struct {
	seq uint64
	ids map[string]bool
}

// published reports whether a was stored by an earlier run. The engine
// publishes in LEDGER order and waits for each acknowledgement, so every
// alert of an earlier LEDGER message was stored.
func (w watermark) published(a *v1.Alert) bool {
	s := a.GetSourceSequence()
	return s < w.seq || (s == w.seq && w.ids[a.GetAlertId()])
}

// readWatermark reads the last alerts of the ALERTS stream.
func readWatermark(ctx context.Context, js jetstream.JetStream) (watermark, error) {
	w := watermark{ids: map[string]bool{}}
	stream, err := js.Stream(ctx, eventlog.AlertsStream)
	if err != nil {
		return w, fmt.Errorf("stream %s: %w", eventlog.AlertsStream, err)
	}
	last, err := stream.GetLastMsgForSubject(ctx, "alerts.>")
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return w, nil
	}
	if err != nil {
		return w, fmt.Errorf("last alert: %w", err)
	}
	a, err := decodeAlert(last)
	if err != nil {
		return w, err
	}
	w.seq = a.GetSourceSequence()
	w.ids[a.GetAlertId()] = true
	// The alerts of one LEDGER message are stored one after the other.
	for seq := last.Sequence - 1; seq > 0; seq-- {
		msg, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return w, fmt.Errorf("alert %d: %w", seq, err)
		}
		a, err := decodeAlert(msg)
		if err != nil {
			return w, err
		}
		if a.GetSourceSequence() != w.seq {
			break
		}
		w.ids[a.GetAlertId()] = true
	}
	return w, nil
}

func decodeAlert(msg *jetstream.RawStreamMsg) (*v1.Alert, error) {
	ev, err := eventlog.Decode(msg.Data)
	if err != nil {
		return nil, fmt.Errorf("alert %d: %w", msg.Sequence, err)
	}
	a := ev.GetAlert()
	if a == nil {
		return nil, fmt.Errorf("alert %d: message on %s holds no alert", msg.Sequence, msg.Subject)
	}
	return a, nil
}
