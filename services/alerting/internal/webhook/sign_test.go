package webhook_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/webhook"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	const secret = "whsec_test_secret_0001"
	now := time.Unix(1_780_000_000, 0)
	body := []byte(`{"text":"[WARNING] Team design has 100 tokens left"}`)
	ts := now.Unix()
	good := webhook.Sign(secret, ts, body)
	require.Regexp(t, `^v1=[0-9a-f]{64}$`, good)
	require.Equal(t, good, webhook.Sign(secret, ts, body), "deterministic")

	tests := []struct {
		name                   string
		secret, timestamp, sig string
		body                   []byte
		now                    time.Time
		ok                     bool
	}{
		{"good", secret, "1780000000", good, body, now, true},
		{"good within tolerance after", secret, "1780000000", good, body, now.Add(5 * time.Minute), true},
		{"good within tolerance before", secret, "1780000000", good, body, now.Add(-5 * time.Minute), true},
		{"wrong secret", "whsec_other_secret_02", "1780000000", good, body, now, false},
		{"tampered body", secret, "1780000000", good, []byte(`{"text":"all fine"}`), now, false},
		{"timestamp changed", secret, "1780000001", good, body, now, false},
		{"replayed too late", secret, "1780000000", good, body, now.Add(5*time.Minute + time.Second), false},
		{"from the future", secret, "1780000000", good, body, now.Add(-5*time.Minute - time.Second), false},
		{"timestamp not a number", secret, "yesterday", good, body, now, false},
		{"no version prefix", secret, "1780000000", good[len("v1="):], body, now, false},
		{"empty signature", secret, "1780000000", "", body, now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := webhook.Verify(tt.secret, tt.timestamp, tt.sig, tt.body, tt.now, 5*time.Minute)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, webhook.ErrBadSignature)
		})
	}
}

func TestNewSecretIsRandomAndLongEnough(t *testing.T) {
	t.Parallel()
	a, b := webhook.NewSecret(), webhook.NewSecret()
	require.NotEqual(t, a, b)
	require.Regexp(t, `^whsec_[0-9a-f]{48}$`, a)
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	s := time.Second
	tests := []struct {
		name string
		o    webhook.Options
		want []time.Duration
	}{
		{"defaults: 6 attempts from 1s", webhook.Options{}, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s}},
		{"capped", webhook.Options{Attempts: 6, Backoff: 10 * s, MaxBackoff: 30 * s}, []time.Duration{10 * s, 20 * s, 30 * s, 30 * s, 30 * s}},
		{"one attempt never waits", webhook.Options{Attempts: 1}, []time.Duration{}},
		{"two attempts", webhook.Options{Attempts: 2, Backoff: 250 * time.Millisecond}, []time.Duration{250 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, webhook.Schedule(tt.o))
		})
	}
}

func TestBodyIsWhatAChatToolTakes(t *testing.T) {
	t.Parallel()
	a := &v1.Alert{AlertId: "low_balance.acme.design.7", OrgId: "acme", TeamId: "design", Kind: "low_balance",
		Severity: v1.Severity_SEVERITY_CRITICAL, Message: "Team design has 0 tokens left",
		Figures: map[string]float64{"available": 0}, RaisedAt: timestamppb.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), Sequence: 12}
	body, err := webhook.Body(a)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, "[CRITICAL] Team design has 0 tokens left", got["text"])
	require.Equal(t, "critical", got["severity"])
	require.Equal(t, "2026-03-02T09:00:00Z", got["raised_at"])
	require.EqualValues(t, 12, got["sequence"])
	require.Equal(t, map[string]any{"available": 0.0}, got["figures"])
}

func TestMatches(t *testing.T) {
	t.Parallel()
	a := &v1.Alert{TeamId: "design", Kind: "low_balance", Severity: v1.Severity_SEVERITY_WARNING}
	tests := []struct {
		name string
		hook *v1.Webhook
		want bool
	}{
		{"every kind of the team", &v1.Webhook{TeamId: "design"}, true},
		{"another team", &v1.Webhook{TeamId: "build"}, false},
		{"disabled", &v1.Webhook{TeamId: "design", Disabled: true}, false},
		{"kind listed", &v1.Webhook{TeamId: "design", Kinds: []string{"launch_denied", "low_balance"}}, true},
		{"kind not listed", &v1.Webhook{TeamId: "design", Kinds: []string{"launch_denied"}}, false},
		{"severity at the minimum", &v1.Webhook{TeamId: "design", MinSeverity: v1.Severity_SEVERITY_WARNING}, true},
		{"severity below the minimum", &v1.Webhook{TeamId: "design", MinSeverity: v1.Severity_SEVERITY_CRITICAL}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, webhook.Matches(tt.hook, a))
		})
	}
}
