// Package certs builds the TLS configurations of tokenmeter's servers and
// clients from PEM files, reloading a certificate when its files change so a
// rotated certificate (cert-manager, a renewal) takes effect without a restart.
package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Files name the PEM files of one process's TLS identity and trust.
type Files struct {
	// Cert and Key are this process's certificate chain and key: its server
	// certificate, and its client certificate when it dials with mutual TLS.
	Cert, Key string
	// ClientCA holds the CAs whose client certificates servers verify
	// (mutual TLS); empty: servers ask for none.
	ClientCA string
	// CA holds the CAs trusted when dialing; empty: the system roots.
	CA string
}

// Serving reports whether servers run TLS.
func (f Files) Serving() bool { return f.Cert != "" }

// Dialing reports whether clients dial TLS.
func (f Files) Dialing() bool { return f.Cert != "" || f.CA != "" }

// Check names what is wrong with the files without keeping anything.
func (f Files) Check() error {
	if (f.Cert == "") != (f.Key == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	if f.ClientCA != "" && f.Cert == "" {
		return errors.New("-tls-client-ca needs -tls-cert and -tls-key: mutual TLS is TLS first")
	}
	if f.Cert != "" {
		if _, err := tls.LoadX509KeyPair(f.Cert, f.Key); err != nil {
			return fmt.Errorf("tls certificate: %w", err)
		}
	}
	for _, ca := range []string{f.ClientCA, f.CA} {
		if ca != "" {
			if _, err := pool(ca); err != nil {
				return err
			}
		}
	}
	return nil
}

// Server is the configuration of a TLS listener: TLS 1.2 or later, the
// certificate reloaded when its files change, and client certificates
// verified against ClientCA when one is given (asked for, not required, so
// launchers and people without one still connect: what a verified
// certificate allows is the caller's to decide, see Verified).
func (f Files) Server() (*tls.Config, error) {
	if !f.Serving() {
		return nil, errors.New("no -tls-cert")
	}
	kp, err := newKeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get() },
	}
	if f.ClientCA != "" {
		if c.ClientCAs, err = pool(f.ClientCA); err != nil {
			return nil, err
		}
		c.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return c, nil
}

// Client is the configuration of a TLS dial: the CA's roots (or the
// system's) and this process's certificate as its client certificate.
func (f Files) Client() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CA != "" {
		roots, err := pool(f.CA)
		if err != nil {
			return nil, err
		}
		c.RootCAs = roots
	}
	if f.Cert != "" {
		kp, err := newKeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, err
		}
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return kp.get() }
	}
	return c, nil
}

// Self is the configuration of a call from a process to its own TLS
// listener (the console to its reporting service): it accepts exactly the
// certificate the process serves, whatever address it was dialed at. It
// presents no client certificate: the console relays people's calls, and
// must not lend them the service's identity (see Anonymous).
func (f Files) Self() (*tls.Config, error) {
	kp, err := newKeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verified below against our own certificate instead of a CA and name.
		InsecureSkipVerify: true, //nolint:gosec // pinned to the served certificate
		VerifyConnection: func(cs tls.ConnectionState) error {
			own, err := kp.get()
			if err != nil {
				return err
			}
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, own.Certificate[0]) {
				return errors.New("tls: the listener does not serve this process's certificate")
			}
			return nil
		},
	}, nil
}

// Anonymous is Client without this process's certificate: for calls made on
// someone else's behalf (the console relaying a browser's), which a verified
// client certificate would otherwise promote to a service's.
func (f Files) Anonymous() (*tls.Config, error) {
	f.Cert, f.Key = "", ""
	return f.Client()
}

func pool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tls CA: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls CA %s: no PEM certificate in it", file)
	}
	return p, nil
}

// reloadEvery is how often a handshake looks at the files' modification times (a variable for tests).
var reloadEvery = 10 * time.Second

// keyPair is a certificate and key loaded from files and reloaded when their
// modification time changes; a reload that fails keeps the last good pair.
type keyPair struct {
	cert, key string
	mu        sync.Mutex
	loaded    *tls.Certificate
	modified  time.Time
	checked   time.Time
}

func newKeyPair(cert, key string) (*keyPair, error) {
	kp := &keyPair{cert: cert, key: key}
	if _, err := kp.get(); err != nil {
		return nil, err
	}
	return kp, nil
}

func (kp *keyPair) get() (*tls.Certificate, error) {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	now := time.Now()
	if kp.loaded != nil && now.Sub(kp.checked) < reloadEvery {
		return kp.loaded, nil
	}
	kp.checked = now
	mod := latestChange(kp.cert, kp.key)
	if kp.loaded != nil && !mod.After(kp.modified) {
		return kp.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(kp.cert, kp.key)
	if err != nil {
		if kp.loaded != nil {
			return kp.loaded, nil
		}
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	kp.loaded, kp.modified = &c, mod
	return kp.loaded, nil
}

func latestChange(files ...string) time.Time {
	var t time.Time
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t
}

// HTTPListener serves conf's TLS (HTTP/2 and HTTP/1.1) on l; nil conf keeps l plaintext.
func HTTPListener(l net.Listener, conf *tls.Config) net.Listener {
	if conf == nil {
		return l
	}
	conf = conf.Clone()
	conf.NextProtos = []string{"h2", "http/1.1"}
	return tls.NewListener(l, conf)
}

// Loopback reports whether a listen or dial address stays on this machine:
// 127.0.0.0/8, ::1 or localhost. ":7071" (every interface) is not.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Verified reports whether a connection's client presented a certificate
// that verified against the server's ClientCA.
func Verified(state *tls.ConnectionState) bool {
	return state != nil && len(state.VerifiedChains) > 0
}
