package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/tokenmeter/tokenmeter/libs/certs"
)

// Attachment is a file sent with a message.
type Attachment struct {
	Name, ContentType string
	Data              []byte
}

// Message is one mail to send.
type Message struct {
	To      []string
	Subject string
	Text    string
	// MessageID (without angle brackets) is the same on every attempt of one
	// delivery, so a receiver can tell a repeat; empty: a random one.
	MessageID   string
	Attachments []Attachment
}

// Sender sends mail through one SMTP server; it dials per message, so it
// holds no connection between sends.
type Sender struct {
	cfg      Config
	host     string
	port     int
	password string
	tls      *tls.Config
	timeout  time.Duration
}

// New checks cfg and reads its password and CA.
func New(cfg Config) (*Sender, error) {
	if !cfg.Enabled() {
		return nil, errors.New("smtp-addr is not set")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host, portText, _ := net.SplitHostPort(cfg.Addr)
	port, _ := strconv.Atoi(portText) // Validate checked it
	pass, err := cfg.password()
	if err != nil {
		return nil, err
	}
	conf, err := certs.Files{CA: cfg.CA}.Anonymous()
	if err != nil {
		return nil, fmt.Errorf("smtp-ca: %w", err)
	}
	conf.ServerName = host
	return &Sender{cfg: cfg, host: host, port: port, password: pass, tls: conf, timeout: 30 * time.Second}, nil
}

// From is the sender address.
func (s *Sender) From() string { return s.cfg.From }

func (s *Sender) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTLSConfig(s.tls), gomail.WithTimeout(s.timeout)}
	switch s.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.User != "" {
		// go-mail's PLAIN and LOGIN refuse an unencrypted connection but to
		// localhost, as Validate does for other loopback names.
		auth := gomail.SMTPAuthPlain
		if s.cfg.Auth == "login" {
			auth = gomail.SMTPAuthLogin
		}
		if s.cfg.TLS == TLSNone {
			auth += "-NOENC"
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.cfg.User), gomail.WithPassword(s.password))
	}
	return gomail.NewClient(s.host, opts...)
}

// Send delivers m in one SMTP session, bounded by ctx and the sender's timeout.
func (s *Sender) Send(ctx context.Context, m Message) error {
	if err := CheckRecipients(m.To); err != nil {
		return fmt.Errorf("recipients: %w", err)
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.To...); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	for _, a := range m.Attachments {
		msg.AttachReadSeeker(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(a.ContentType)))
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return c.DialAndSendWithContext(ctx, msg)
}
