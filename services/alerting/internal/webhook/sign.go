// Package webhook pushes alerts to each team's HTTP endpoints: a JSON body a
// chat tool takes ({"text": ...} plus the alert's fields), signed with
// HMAC-SHA256, retried with exponential backoff, and recorded as a dead
// letter when every attempt failed.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Headers of a delivery.
const (
	HeaderTimestamp = "X-Tokenmeter-Timestamp"
	// HeaderSignature is "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
	HeaderSignature = "X-Tokenmeter-Signature"
	HeaderAlertID   = "X-Tokenmeter-Alert-Id"
	HeaderAttempt   = "X-Tokenmeter-Attempt"
)

// Sign is the signature header value of body sent at timestamp (Unix seconds).
func Sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// ErrBadSignature is returned by Verify.
var ErrBadSignature = errors.New("bad webhook signature")

// Verify checks a delivery as a receiver should: the signature over the
// timestamp and body, and the timestamp within tolerance of now (replays).
func Verify(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrBadSignature
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return ErrBadSignature
	}
	return nil
}

// NewSecret makes a random signing secret.
func NewSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return "whsec_" + hex.EncodeToString(b)
}

// Payload is the JSON body of a delivery. Slack, Mattermost and Teams
// incoming webhooks show text; the other fields are for programs.
type Payload struct {
	Text     string             `json:"text"`
	AlertID  string             `json:"alert_id"`
	OrgID    string             `json:"org_id"`
	TeamID   string             `json:"team_id"`
	Kind     string             `json:"kind"`
	Severity string             `json:"severity"`
	Message  string             `json:"message"`
	Figures  map[string]float64 `json:"figures,omitempty"`
	RaisedAt time.Time          `json:"raised_at"`
	Sequence uint64             `json:"sequence"`
}

// Body encodes the payload of a.
func Body(a *v1.Alert) ([]byte, error) {
	sev := strings.ToLower(strings.TrimPrefix(a.GetSeverity().String(), "SEVERITY_"))
	return json.Marshal(Payload{
		Text:     "[" + strings.ToUpper(sev) + "] " + a.GetMessage(),
		AlertID:  a.GetAlertId(),
		OrgID:    a.GetOrgId(),
		TeamID:   a.GetTeamId(),
		Kind:     a.GetKind(),
		Severity: sev,
		Message:  a.GetMessage(),
		Figures:  a.GetFigures(),
		RaisedAt: a.GetRaisedAt().AsTime(),
		Sequence: a.GetSequence(),
	})
}

// Matches reports whether hook wants a.
func Matches(hook *v1.Webhook, a *v1.Alert) bool {
	if hook.GetDisabled() || hook.GetTeamId() != a.GetTeamId() || a.GetSeverity() < hook.GetMinSeverity() {
		return false
	}
	if len(hook.GetKinds()) == 0 {
		return true
	}
	for _, k := range hook.GetKinds() {
		if k == a.GetKind() {
			return true
		}
	}
	return false
}
