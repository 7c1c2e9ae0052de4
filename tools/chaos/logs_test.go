package chaos

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// logLine is one JSON line a service wrote (libs/telemetry's slog handler).
type logLine struct {
	at    time.Time
	level string
	msg   string
	attrs map[string]any
}

// key tells one dependency's line from another's of the same message: two
// streams' projectors, two replicas.
func (l logLine) key() string {
	k := l.msg
	for _, a := range []string{"stream", "replica", "ledger", "clickhouse"} {
		if v, ok := l.attrs[a]; ok {
			k += fmt.Sprintf(" %s=%v", a, v)
		}
	}
	return k
}

func (r *run) lines() []logLine {
	var out []logLine
	for _, raw := range r.out.Lines() {
		var m map[string]any
		if json.Unmarshal([]byte(raw), &m) != nil {
			continue
		}
		l := logLine{attrs: m}
		l.msg, _ = m["msg"].(string)
		l.level, _ = m["level"].(string)
		if s, ok := m["time"].(string); ok {
			l.at, _ = time.Parse(time.RFC3339Nano, s)
		}
		out = append(out, l)
	}
	return out
}

// matching are the lines of r in [from, to] whose message starts with msg
// and whose attributes include attrs (name, value, ...).
func (r *run) matching(from, to time.Time, msg string, attrs ...string) []logLine {
	var out []logLine
	for _, l := range r.lines() {
		if l.at.Before(from) || l.at.After(to) || !strings.HasPrefix(l.msg, msg) {
			continue
		}
		ok := true
		for i := 0; i+1 < len(attrs); i += 2 {
			ok = ok && fmt.Sprint(l.attrs[attrs[i]]) == attrs[i+1]
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// repeated are the warnings and errors r logged more than once in [from, to]
// under one key: a dependency's loss logged per retry instead of once.
func (r *run) repeated(from, to time.Time) map[string]int {
	n := map[string]int{}
	for _, l := range r.lines() {
		if (l.level == "WARN" || l.level == "ERROR") && !l.at.Before(from) && !l.at.After(to) {
			n[l.key()]++
		}
	}
	for k, c := range n {
		if c < 2 {
			delete(n, k)
		}
	}
	return n
}

// spanning are p's lives that ran through all of [from, to].
func (p *proc) spanning(from, to time.Time) []*run {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*run
	for _, r := range p.runs {
		if r.start.Before(from) && (r.end.IsZero() || r.end.After(to)) {
			out = append(out, r)
		}
	}
	return out
}
