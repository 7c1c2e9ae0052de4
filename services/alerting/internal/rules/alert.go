package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Source streams of alerts.
const (
	SourceLedger = "LEDGER"
	SourceUsage  = "USAGE"
)

// AlertID is the stable id of the alert of kind raised for a team at source
// sequence seq; keys tell apart alerts of one kind raised together (a pack, a
// tier, a user). Organisation and team ids never contain '.', so the id is
// unambiguous; it is also a valid Nats-Msg-Id and KV key.
func AlertID(kind, org, team string, seq uint64, keys ...string) string {
	var b strings.Builder
	b.WriteString(kind + "." + org + "." + team + "." + strconv.FormatUint(seq, 10))
	for _, k := range keys {
		b.WriteString("." + idToken(k))
	}
	return b.String()
}

// idToken keeps an id usable in alert ids, hashing what is not.
func idToken(s string) string {
	if subject.ValidID(s) {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "h" + hex.EncodeToString(sum[:6])
}

// OrgOfAlertID is the organisation an alert id belongs to ("" if malformed).
func OrgOfAlertID(id string) string {
	parts := strings.Split(id, ".")
	if len(parts) < 4 {
		return ""
	}
	return parts[1]
}

// raise is what one rule needs to build an alert.
type raise struct {
	org, team string
	seq       uint64
	at        time.Time
}

// alert builds the alert of kind.
func (r raise) alert(kind string, sev v1.Severity, msg string, figures map[string]float64, keys ...string) *v1.Alert {
	return &v1.Alert{
		AlertId:        AlertID(kind, r.org, r.team, r.seq, keys...),
		OrgId:          r.org,
		TeamId:         r.team,
		Kind:           kind,
		Severity:       sev,
		Message:        msg,
		Figures:        figures,
		RaisedAt:       timestamppb.New(r.at),
		SourceSequence: r.seq,
	}
}

// percent is part as a share of whole, rounded to one decimal; 0 when whole is 0.
func percent(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return math.Round(float64(part)*1000/float64(whole)) / 10
}

// formatFloat writes f without a useless ".0".
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// day is the UTC day number of t (days since the Unix epoch).
func day(t time.Time) int64 { return int64(math.Floor(float64(t.Unix()) / 86400)) }

// dateOf formats a day number as 2006-01-02.
func dateOf(d int64) string { return time.Unix(d*86400, 0).UTC().Format(time.DateOnly) }

const dayLength = 24 * time.Hour
