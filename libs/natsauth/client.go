package natsauth

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
)

// Client says how a process reaches NATS and as which identity.
type Client struct {
	// URL is one or more server URLs, comma-separated.
	URL string
	// Identity names the grant the credentials carry; it picks the reply
	// inbox prefix the server lets this identity subscribe to.
	Identity string
	// Creds is a NATS .creds file or an nkey seed file; empty connects
	// anonymously, which a server with users refuses.
	Creds string
	// TLS, when set, is used when the server requires TLS or the URL is
	// tls://; a tls:// URL refuses a server without it.
	TLS *tls.Config
}

// Options are the nats.Connect options that authenticate as c.
func (c Client) Options() ([]nats.Option, error) {
	var opts []nats.Option
	if c.Identity != "" {
		if !Known(c.Identity) {
			return nil, fmt.Errorf("nats identity %.32q: want one of %v", c.Identity, Names())
		}
		opts = append(opts, nats.CustomInboxPrefix(InboxPrefix(c.Identity)))
	}
	if c.TLS != nil {
		conf := c.TLS
		// Not nats.Secure: that would demand TLS of every server, dev ones too.
		opts = append(opts, func(o *nats.Options) error { o.TLSConfig = conf; return nil })
	}
	if c.Creds == "" {
		return opts, nil
	}
	contents, err := os.ReadFile(c.Creds)
	if err != nil {
		return nil, fmt.Errorf("nats credentials: %w", err)
	}
	// A .creds file carries a user JWT beside the seed; a seed file only the seed.
	if bytes.Contains(contents, []byte("BEGIN NATS USER JWT")) {
		return append(opts, nats.UserCredentials(c.Creds)), nil
	}
	opt, err := nats.NkeyOptionFromSeed(c.Creds)
	if err != nil {
		return nil, fmt.Errorf("nats credentials %s: not a .creds file or an nkey seed file: %w", c.Creds, err)
	}
	return append(opts, opt), nil
}
