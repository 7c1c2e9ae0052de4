package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"code.dny.dev/ssrf"
)

// Policy says where webhooks may be delivered. By default only https URLs
// whose host resolves to public addresses: an admin's webhook must not reach
// the network tokenmeter runs in (loopback, private, link-local, CGNAT, cloud
// metadata). An operator may allow specific hosts (then http too) or prefixes.
type Policy struct {
	hosts    map[string]bool
	prefixes []netip.Prefix
	guard    *ssrf.Guardian
}

// NewPolicy parses an allowlist of host names, IP addresses and CIDR prefixes.
func NewPolicy(allow []string) (*Policy, error) {
	p := &Policy{hosts: map[string]bool{}}
	var v4, v6 []netip.Prefix
	for _, a := range allow {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "" {
			continue
		}
		pre, err := netip.ParsePrefix(a)
		if err != nil {
			if ip, ipErr := netip.ParseAddr(a); ipErr == nil {
				pre, err = ip.Prefix(ip.BitLen())
			}
		}
		switch {
		case err == nil && pre.Addr().Is4():
			v4 = append(v4, pre.Masked())
		case err == nil:
			v6 = append(v6, pre.Masked())
		case validHost(a):
			p.hosts[a] = true
			continue
		default:
			return nil, fmt.Errorf("webhook allowlist entry %.64q is neither a host name, an IP address nor a CIDR prefix", a)
		}
		p.prefixes = append(p.prefixes, pre.Masked())
	}
	p.guard = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...))
	return p, nil
}

func validHost(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, c := range h {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return h != ""
}

// allowed reports whether the operator opened host (a name or an address in an allowed prefix).
func (p *Policy) allowed(host string) bool {
	host = strings.ToLower(host)
	if p.hosts[host] {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	for _, pre := range p.prefixes {
		if pre.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// CheckURL refuses a webhook URL before it is stored: not absolute http(s),
// http to a host not allowed, or an address literal that deliveries would refuse.
func (p *Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return errors.New("must be an absolute https URL without user info")
	}
	if p.allowed(u.Hostname()) {
		return nil
	}
	if u.Scheme != "https" {
		return errors.New("must be https (http only to a host the operator allows with -webhook-allow)")
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && p.guard.SafeAddr(ip) != nil {
		return errors.New("must not point at a loopback, private, link-local or other internal address")
	}
	return nil
}

// Client is an HTTP client for deliveries under p: it dials only addresses
// the policy allows, checked after DNS resolution on every connection, and
// follows no redirects.
func (p *Policy) Client() *http.Client {
	guarded := &net.Dialer{Timeout: 10 * time.Second, Control: p.guard.Safe}
	open := &net.Dialer{Timeout: 10 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a proxy would dial the webhook's host on our behalf, unchecked
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(addr); err == nil && p.hosts[strings.ToLower(host)] {
			return open.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// failure is what a dead letter and the log say of a failed attempt: never
// the dial error itself, which would tell an open port from a closed one.
func failure(err error) string {
	switch {
	case errors.Is(err, ssrf.ErrProhibitedIP), errors.Is(err, ssrf.ErrProhibitedNetwork), errors.Is(err, errScheme):
		return "address not allowed"
	case errors.Is(err, errStatus):
		return err.Error()
	case errors.Is(err, errNoMail):
		return "no SMTP server configured"
	case errors.Is(err, errMail):
		return errMail.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	default:
		return "connection failed"
	}
}

// Redact keeps a URL's scheme and host: the path and query of a webhook
// (Slack, Teams) are often its bearer secret.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
