package pool

import "time"

// WindowLength is how long one charge covers a user's launches of a product.
const WindowLength = 24 * time.Hour

type windowKey struct{ user, product string }

// Window is the 24 hours a (user, product) charge covers, on any device and version.
type Window struct {
	ID         string
	Start, End time.Time
	// fingerprint is Fingerprint(user, product), made once per window: the
	// answers about this user and product share it rather than each keep a
	// copy for 48 hours.
	fingerprint string
}

// OpenAt reports whether the window covers a launch at t. A launch or
// heartbeat stamped before the window's start was received before it but
// decided after it (receipt times come from several ingestion instances and
// forwarding replicas): the charge already made covers it, where a new one
// would overlap this window (or, for a heartbeat, renew the next day early).
func (w *Window) OpenAt(t time.Time) bool {
	return w != nil && w.ID != "" && t.Before(w.End)
}

func (p *Pool) window(user, product string) *Window {
	k := windowKey{user, product}
	w, ok := p.windows[k]
	if !ok {
		w = &Window{fingerprint: Fingerprint(user, product)}
		p.windows[k] = w
	}
	return w
}

// fingerprint is Fingerprint(user, product), the window's copy if there is one.
func (p *Pool) fingerprint(user, product string) string {
	if w := p.windows[windowKey{user, product}]; w != nil {
		return w.fingerprint
	}
	return Fingerprint(user, product)
}

// OpenWindow returns the window covering user's product at t, if any.
func (p *Pool) OpenWindow(user, product string, t time.Time) (*Window, bool) {
	w := p.windows[windowKey{user, product}]
	if w.OpenAt(t) {
		return w, true
	}
	return nil, false
}
