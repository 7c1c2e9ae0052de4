package testkit

import (
	"bytes"
	"strings"
	"sync"
)

// Output is a log or a command's output that the code under test writes from
// its goroutines while the test reads it.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// String is everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Lines are the non-empty lines written so far.
func (o *Output) Lines() []string {
	var out []string
	for l := range strings.Lines(o.String()) {
		if l = strings.TrimSuffix(l, "\n"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Count is how many lines contain every one of parts, e.g. a log's
// `msg="ledger unreachable"`.
func (o *Output) Count(parts ...string) int {
	n := 0
	for _, l := range o.Lines() {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			n++
		}
	}
	return n
}
