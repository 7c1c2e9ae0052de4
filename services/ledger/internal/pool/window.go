package pool

import "time"

// WindowLength is how long one charge covers a user's launches of a product.
const WindowLength = 24 * time.Hour

type windowKey struct{ user, product string }

// Window is the 24 hours a (user, product) charge covers, on any device and version.
type Window struct {
	ID         string
	Start, End time.Time
}

// OpenAt reports whether the window covers a launch at t.
func (w *Window) OpenAt(t time.Time) bool {
	return w != nil && w.ID != "" && !t.Before(w.Start) && t.Before(w.End)
}

func (p *Pool) window(user, product string) *Window {
	k := windowKey{user, product}
	w, ok := p.windows[k]
	if !ok {
		w = &Window{}
		p.windows[k] = w
	}
	return w
}

// OpenWindow returns the window covering user's product at t, if any.
func (p *Pool) OpenWindow(user, product string, t time.Time) (*Window, bool) {
	w := p.windows[windowKey{user, product}]
	if w.OpenAt(t) {
		return w, true
	}
	return nil, false
}
