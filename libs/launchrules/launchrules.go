// Package launchrules holds the rules a launcher's launch, heartbeat or
// session end must meet. Ingestion applies them at the edge and the ledger
// again on what ingestion forwards (defence in depth): one copy of each rule.
package launchrules

import (
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
	MaxAttrKeyLen   = 64
	MaxAttrValueLen = 256
	MaxVersionLen   = 64
	MaxDeviceLen    = 128
	MaxWindowLen    = 256
	// MaxEventBytes bounds one encoded launch, heartbeat or session end.
	MaxEventBytes = 8 << 10
	// MinEventIDLen and MaxEventIDLen bound a client-made event id.
	MinEventIDLen = 8
	MaxEventIDLen = 128
)

// CheckSize refuses an encoded message over limit bytes.
func CheckSize(bad *grpcserver.Violations, field string, m proto.Message, limit int) {
	if n := proto.Size(m); n > limit {
		bad.Add(field, "is %d bytes encoded, at most %d", n, limit)
	}
}

// Sane reports whether s is printable text without control characters.
func Sane(s string) bool {
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// ValidEventID matches ^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$ (the test holds
// it to that pattern) without the regexp engine, which cost more than the
// rest of a launch's validation together.
func ValidEventID(id string) bool {
	if len(id) < MinEventIDLen || len(id) > MaxEventIDLen {
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

// CheckEventID refuses a missing or malformed client-made event id.
func CheckEventID(bad *grpcserver.Violations, field, id string) {
	if id == "" {
		bad.Add(field, "is required: a client-made id (a UUID), reused on retries")
	} else if !ValidEventID(id) {
		bad.Add(field, "must be 8-128 letters, digits, '.', '_', ':' or '-' (a UUID fits)")
	}
}

// CheckText refuses free text that is too long or not printable.
func CheckText(bad *grpcserver.Violations, field, s string, limit int) {
	if len(s) > limit {
		bad.Add(field, "must be at most %d characters", limit)
	} else if !Sane(s) {
		bad.Add(field, "must be printable text")
	}
}

// CheckLaunch applies the rules of a launch; field names start with prefix.
// The client clock is ingestion's to judge (the ledger gets its time of receipt).
func CheckLaunch(bad *grpcserver.Violations, prefix string, r *v1.LaunchRequest) {
	CheckEventID(bad, prefix+"event_id", r.GetEventId())
	bad.Check(prefix+"team_id", eventlog.CheckID("team_id", r.GetTeamId()))
	bad.Check(prefix+"user_id", eventlog.CheckID("user_id", r.GetUserId()))
	bad.Check(prefix+"product_code", eventlog.CheckID("product_code", r.GetProductCode()))
	CheckText(bad, prefix+"product_version", r.GetProductVersion(), MaxVersionLen)
	CheckText(bad, prefix+"device_id", r.GetDeviceId(), MaxDeviceLen)
	if n := len(r.GetAttributes()); n > MaxAttributes {
		bad.Add(prefix+"attributes", "at most %d attributes, got %d", MaxAttributes, n)
	}
	for k, v := range r.GetAttributes() {
		if k == "" || len(k) > MaxAttrKeyLen || len(v) > MaxAttrValueLen || !Sane(k) || !Sane(v) {
			bad.Add(prefix+"attributes", "attribute %s: keys 1-%d characters, values at most %d", quote.Prefix(k), MaxAttrKeyLen, MaxAttrValueLen)
		}
	}
	CheckSize(bad, prefix+"payload", r, MaxEventBytes)
}

// Session is what heartbeats and session ends share.
type Session interface {
	proto.Message
	GetEventId() string
	GetTeamId() string
	GetUserId() string
	GetProductCode() string
	GetDeviceId() string
	GetWindowId() string
}

// CheckSession applies the rules of a heartbeat or session end.
func CheckSession(bad *grpcserver.Violations, prefix string, r Session) {
	CheckEventID(bad, prefix+"event_id", r.GetEventId())
	bad.Check(prefix+"team_id", eventlog.CheckID("team_id", r.GetTeamId()))
	bad.Check(prefix+"user_id", eventlog.CheckID("user_id", r.GetUserId()))
	bad.Check(prefix+"product_code", eventlog.CheckID("product_code", r.GetProductCode()))
	CheckText(bad, prefix+"device_id", r.GetDeviceId(), MaxDeviceLen)
	CheckText(bad, prefix+"window_id", r.GetWindowId(), MaxWindowLen)
	CheckSize(bad, prefix+"payload", r, MaxEventBytes)
}
