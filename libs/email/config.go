// Package email sends tokenmeter's mail (alerts, scheduled reports) through
// the operator's SMTP server with github.com/wneessen/go-mail: STARTTLS or
// implicit TLS, AUTH PLAIN or LOGIN, and never a password in the clear
// beyond loopback.
package email

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"

	"github.com/tokenmeter/tokenmeter/libs/certs"
)

// TLS modes of the SMTP connection.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "implicit"
	// TLSNone is allowed only to a loopback server (a local relay, the dev stack's mailpit).
	TLSNone = "none"
)

// Config is where and as whom mail is sent; Addr empty means no mail.
type Config struct {
	// Addr is the SMTP server's host:port.
	Addr string
	// From is the sender address.
	From string
	// TLS is starttls, implicit or none.
	TLS string
	// CA is a PEM file of the CAs that verify the server (empty: the system roots).
	CA string
	// User and PasswordFile authenticate (AUTH PLAIN, or LOGIN with Auth "login").
	User, PasswordFile string
	Auth               string
}

// Register adds the -smtp-* flags to fs (environment fallbacks through libs/config).
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "smtp-addr", "", "SMTP server host:port that alerts and scheduled reports are e-mailed through (empty: no e-mail)")
	fs.StringVar(&c.From, "smtp-from", "", "sender address of the mail sent")
	fs.StringVar(&c.TLS, "smtp-tls", TLSStartTLS, "starttls (required, usually port 587), implicit (TLS from the start, usually 465) or none (only to a loopback server)")
	fs.StringVar(&c.CA, "smtp-ca", "", "PEM CAs that verify the SMTP server's certificate (empty: the system roots)")
	fs.StringVar(&c.User, "smtp-user", "", "SMTP user name (empty: no authentication)")
	fs.StringVar(&c.PasswordFile, "smtp-password-file", "", "file holding the SMTP password (first line)")
	fs.StringVar(&c.Auth, "smtp-auth", "plain", "SMTP authentication mechanism: plain or login")
}

// Enabled reports whether mail can be sent.
func (c Config) Enabled() bool { return c.Addr != "" }

// Validate joins every problem; a config without Addr is valid (no mail).
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	host, port, err := net.SplitHostPort(c.Addr)
	if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
		errs = append(errs, fmt.Errorf("smtp-addr %.64q: must be host:port", c.Addr))
	}
	if _, err := mail.ParseAddress(c.From); err != nil || c.From == "" {
		errs = append(errs, fmt.Errorf("smtp-from %.64q: must be an e-mail address", c.From))
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if c.User != "" && !certs.Loopback(c.Addr) {
			errs = append(errs, errors.New("smtp-tls none: a password is sent in the clear only to a loopback server; use starttls or implicit"))
		}
	default:
		errs = append(errs, fmt.Errorf("smtp-tls %.16q: must be starttls, implicit or none", c.TLS))
	}
	if c.Auth != "plain" && c.Auth != "login" {
		errs = append(errs, fmt.Errorf("smtp-auth %.16q: must be plain or login", c.Auth))
	}
	if (c.User == "") != (c.PasswordFile == "") {
		errs = append(errs, errors.New("smtp-user and smtp-password-file go together"))
	}
	return errors.Join(errs...)
}

// password reads the first line of PasswordFile.
func (c Config) password() (string, error) {
	if c.PasswordFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(c.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("smtp-password-file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimRight(line, "\r"), nil
}
