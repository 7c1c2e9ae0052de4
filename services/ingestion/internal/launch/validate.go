// Package launch is ingestion's launcher API: it validates what launchers
// send, stamps the server's time of receipt, asks the ledger, records the raw
// event on the USAGE stream and answers.
package launch

import (
	"time"
	"unicode"

	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Limits on what a launcher may send.
const (
	MaxAttributes   = 10
	maxAttrKeyLen   = 64
	maxAttrValueLen = 256
	maxVersionLen   = 64
	maxDeviceLen    = 128
	maxWindowLen    = 256
	// MaxEventBytes bounds one encoded event; MaxBatchBytes one offline batch.
	MaxEventBytes = 8 << 10
	MaxBatchBytes = 2 << 20
	// MaxBatch bounds the events of one offline batch.
	MaxBatch = 1000
)

// checkSize refuses an encoded message over limit bytes.
func checkSize(bad *grpcserver.Violations, field string, m proto.Message, limit int) {
	if n := proto.Size(m); n > limit {
		bad.Add(field, "is %d bytes encoded, at most %d", n, limit)
	}
}

// sane reports whether s is printable text without control characters.
func sane(s string) bool {
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// validEventID matches ^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$ (the test holds
// it to that pattern) without the regexp engine, which cost more than the
// rest of a launch's validation together.
func validEventID(id string) bool {
	if len(id) < 8 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == ':' || c == '-'):
		default:
			return false
		}
	}
	return true
}

func checkEventID(bad *grpcserver.Violations, field, id string) {
	if id == "" {
		bad.Add(field, "is required: a client-made id (a UUID), reused on retries")
	} else if !validEventID(id) {
		bad.Add(field, "must be 8-128 letters, digits, '.', '_', ':' or '-' (a UUID fits)")
	}
}

func checkLaunch(prefix string, r *v1.LaunchRequest, now time.Time, maxSkew time.Duration) error {
	var bad grpcserver.Violations
	checkEventID(&bad, prefix+"event_id", r.GetEventId())
	bad.Check(prefix+"team_id", eventlog.CheckID("team_id", r.GetTeamId()))
	bad.Check(prefix+"user_id", eventlog.CheckID("user_id", r.GetUserId()))
	bad.Check(prefix+"product_code", eventlog.CheckID("product_code", r.GetProductCode()))
	checkText(&bad, prefix+"product_version", r.GetProductVersion(), maxVersionLen)
	checkText(&bad, prefix+"device_id", r.GetDeviceId(), maxDeviceLen)
	if n := len(r.GetAttributes()); n > MaxAttributes {
		bad.Add(prefix+"attributes", "at most %d attributes, got %d", MaxAttributes, n)
	}
	for k, v := range r.GetAttributes() {
		if k == "" || len(k) > maxAttrKeyLen || len(v) > maxAttrValueLen || !sane(k) || !sane(v) {
			bad.Add(prefix+"attributes", "attribute %s: keys 1-%d characters, values at most %d", quote.Prefix(k), maxAttrKeyLen, maxAttrValueLen)
		}
	}
	checkClientTime(&bad, prefix+"occurred_at", r.GetOccurredAt().AsTime(), r.GetOccurredAt() != nil, now, maxSkew)
	checkSize(&bad, prefix+"payload", r, MaxEventBytes)
	return bad.Err()
}

// checkText refuses free text that is too long or not printable.
func checkText(bad *grpcserver.Violations, field, s string, limit int) {
	if len(s) > limit {
		bad.Add(field, "must be at most %d characters", limit)
	} else if !sane(s) {
		bad.Add(field, "must be printable text")
	}
}

// checkClientTime refuses client clocks absurdly far from the server's; the
// skew is recorded, never used for charging.
func checkClientTime(bad *grpcserver.Violations, field string, t time.Time, set bool, now time.Time, maxSkew time.Duration) {
	if !set || maxSkew <= 0 {
		return
	}
	if d := now.Sub(t); d > maxSkew || -d > maxSkew {
		bad.Add(field, "is %s away from the server's clock (at most %s)", d.Round(time.Second), maxSkew)
	}
}

// session is what heartbeats and session ends share.
type session interface {
	proto.Message
	GetEventId() string
	GetTeamId() string
	GetUserId() string
	GetProductCode() string
	GetDeviceId() string
	GetWindowId() string
}

func checkSession(prefix string, r session) grpcserver.Violations {
	var bad grpcserver.Violations
	checkEventID(&bad, prefix+"event_id", r.GetEventId())
	bad.Check(prefix+"team_id", eventlog.CheckID("team_id", r.GetTeamId()))
	bad.Check(prefix+"user_id", eventlog.CheckID("user_id", r.GetUserId()))
	bad.Check(prefix+"product_code", eventlog.CheckID("product_code", r.GetProductCode()))
	checkText(&bad, prefix+"device_id", r.GetDeviceId(), maxDeviceLen)
	checkText(&bad, prefix+"window_id", r.GetWindowId(), maxWindowLen)
	checkSize(&bad, prefix+"payload", r, MaxEventBytes)
	return bad
}
