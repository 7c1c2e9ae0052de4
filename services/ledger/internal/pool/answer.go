package pool

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// answer is an Outcome as the pool keeps it in applied, for
// AppliedRetention: its two times as Unix seconds and nanoseconds rather
// than time.Time (24 bytes each, a location pointer among them), so 88 bytes
// an entry against Outcome's 112. The map holds one entry per event id of
// the last 48 hours, the bulk of a busy pool's memory, and grows on every
// decision. Every time an answer holds is UTC (timestamppb's AsTime, or a
// snapshot's "Z"), which outcome restores exactly. A snapshot encodes
// answers as the Outcomes they are, byte for byte as before (appliedMap).
type answer struct {
	fingerprint, windowID string
	tokens, balanceAfter  int64
	atSec, windowEndSec   int64
	atNsec, windowEndNsec int32
	decision              v1.Decision
	denyReason            v1.DenyReason
	keepRunning           bool
}

// Remembered is how many answered event ids the pool keeps: most of its
// state, and of its snapshot.
func (p *Pool) Remembered() int { return len(p.applied) }

func answerOf(o Outcome) answer {
	return answer{
		fingerprint: o.Fingerprint, windowID: o.WindowID, tokens: o.Tokens, balanceAfter: o.BalanceAfter,
		atSec: o.At.Unix(), atNsec: int32(o.At.Nanosecond()),
		windowEndSec: o.WindowEnd.Unix(), windowEndNsec: int32(o.WindowEnd.Nanosecond()),
		decision: o.Decision, denyReason: o.DenyReason, keepRunning: o.KeepRunning,
	}
}

// outcome is the Outcome a was made of. A zero time.Time comes back as
// itself: its Unix seconds, made UTC, are the zero Time again.
func (a *answer) outcome() Outcome {
	return Outcome{
		Decision: a.decision, DenyReason: a.denyReason, Tokens: a.tokens, WindowID: a.windowID,
		WindowEnd: time.Unix(a.windowEndSec, int64(a.windowEndNsec)).UTC(), BalanceAfter: a.balanceAfter,
		At: a.at(), Fingerprint: a.fingerprint, KeepRunning: a.keepRunning,
	}
}

func (a *answer) at() time.Time { return time.Unix(a.atSec, int64(a.atNsec)).UTC() }

// appliedMap is a pool's answers as a snapshot holds them: the encoding of
// a map[string]Outcome, which earlier versions kept. MarshalJSON writes the
// very bytes encoding/json writes for that map (keys sorted, each answer as
// its Outcome), without reflection: a busy pool remembers tens of thousands
// of event ids.
type appliedMap map[string]answer

// MarshalJSON encodes m as encoding/json encodes the map[string]Outcome it
// stands for.
func (m appliedMap) MarshalJSON() ([]byte, error) { return m.appendJSON(nil) }

// appendJSON appends MarshalJSON's encoding of m to b.
func (m appliedMap) appendJSON(b []byte) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	return m.copied().appendJSON(b)
}

// appliedCopy is a pool's answers copied out of its map, to be sorted and
// encoded later, on any goroutine: copying is the only part a snapshot does
// under the pool's lock.
type appliedCopy struct {
	ids []string
	all []answer // all[i] is the answer to ids[i]
}

func (m appliedMap) copied() appliedCopy {
	c := appliedCopy{ids: make([]string, 0, len(m)), all: make([]answer, 0, len(m))}
	for id, a := range m {
		c.ids = append(c.ids, id)
		c.all = append(c.all, a)
	}
	return c
}

// appendJSON appends the encoding of the answers as appliedMap's
// MarshalJSON writes it (keys sorted).
func (c appliedCopy) appendJSON(b []byte) ([]byte, error) {
	// Sorted by id through an index of pointers: moving 88-byte answers
	// while sorting would cost more than the pointers.
	type entry struct {
		id string
		a  *answer
	}
	entries := make([]entry, len(c.ids))
	for i, id := range c.ids {
		entries[i] = entry{id, &c.all[i]}
	}
	slices.SortFunc(entries, func(x, y entry) int { return strings.Compare(x.id, y.id) })
	b = append(b, '{')
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e.id)
		b = append(b, ':')
		var err error
		if b, err = e.a.appendJSON(b); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes, and the map[string]Outcome
// of earlier versions: the same bytes.
func (m *appliedMap) UnmarshalJSON(data []byte) error {
	var outcomes map[string]Outcome
	if err := json.Unmarshal(data, &outcomes); err != nil {
		return err
	}
	if outcomes == nil {
		return nil // null
	}
	*m = make(appliedMap, len(outcomes))
	for id, o := range outcomes {
		(*m)[id] = answerOf(o)
	}
	return nil
}

// appendJSON appends the encoding/json encoding of a's Outcome.
func (a *answer) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"Decision":`...)
	b = strconv.AppendInt(b, int64(a.decision), 10)
	b = append(b, `,"DenyReason":`...)
	b = strconv.AppendInt(b, int64(a.denyReason), 10)
	b = append(b, `,"Tokens":`...)
	b = strconv.AppendInt(b, a.tokens, 10)
	b = append(b, `,"WindowID":`...)
	b = appendJSONString(b, a.windowID)
	b = append(b, `,"WindowEnd":`...)
	if b, err = appendJSONTime(b, time.Unix(a.windowEndSec, int64(a.windowEndNsec)).UTC()); err != nil {
		return nil, err
	}
	b = append(b, `,"BalanceAfter":`...)
	b = strconv.AppendInt(b, a.balanceAfter, 10)
	b = append(b, `,"At":`...)
	if b, err = appendJSONTime(b, a.at()); err != nil {
		return nil, err
	}
	b = append(b, `,"Fingerprint":`...)
	b = appendJSONString(b, a.fingerprint)
	b = append(b, `,"KeepRunning":`...)
	b = strconv.AppendBool(b, a.keepRunning)
	return append(b, '}'), nil
}

// appendJSONTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, quoted), which fails outside the years 0 to 9999.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		_, err := t.MarshalJSON()
		return nil, err
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// appendJSONString appends s quoted as encoding/json quotes strings (HTML
// characters escaped); anything beyond ASCII is left to encoding/json.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
