package certs

import (
	"crypto/tls"
	"os"
	"testing"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// handshake runs one TLS handshake between a listener with server and a
// client with client, and returns the client's view of it.
func handshake(t *testing.T, server, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), client)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.ConnectionState(), nil
}

func TestServerAndClient(t *testing.T) {
	f := testkit.Certs(t)
	server, err := Files{Cert: f.Cert, Key: f.Key}.Server()
	if err != nil {
		t.Fatal(err)
	}
	trusting, err := Files{CA: f.CA}.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, server, trusting); err != nil {
		t.Fatalf("a client trusting the CA: %v", err)
	}
	other, err := Files{CA: f.OtherCA}.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, server, other); err == nil {
		t.Fatal("a client trusting another CA accepted the server")
	}
	if _, err := handshake(t, server, &tls.Config{MaxVersion: tls.VersionTLS11, RootCAs: trusting.RootCAs}); err == nil {
		t.Fatal("TLS 1.1 was accepted")
	}
}

func TestClientCertificateIsVerifiedWhenGiven(t *testing.T) {
	f := testkit.Certs(t)
	server, err := Files{Cert: f.Cert, Key: f.Key, ClientCA: f.CA}.Server()
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan bool, 2)
	server.VerifyConnection = func(cs tls.ConnectionState) error { seen <- Verified(&cs); return nil }
	withCert, err := Files{Cert: f.ClientCert, Key: f.ClientKey, CA: f.CA}.Client()
	if err != nil {
		t.Fatal(err)
	}
	without, err := Files{CA: f.CA}.Client()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*tls.Config{withCert, without} {
		if _, err := handshake(t, server, c); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := <-seen, <-seen; !a || b {
		t.Fatalf("verified client certificates: %v %v, want true false", a, b)
	}
}

// A renewed certificate written over the old files is served without a restart.
func TestCertificateReloadsWhenItsFilesChange(t *testing.T) {
	old := reloadEvery
	reloadEvery = 0
	t.Cleanup(func() { reloadEvery = old })
	f := testkit.Certs(t)
	server, err := Files{Cert: f.Cert, Key: f.Key}.Server()
	if err != nil {
		t.Fatal(err)
	}
	client, err := Files{CA: f.CA}.Client()
	if err != nil {
		t.Fatal(err)
	}
	first, err := handshake(t, server, client)
	if err != nil {
		t.Fatal(err)
	}
	// The client certificate is signed by the same CA: serve it instead.
	for src, dst := range map[string]string{f.ClientCert: f.Cert, f.ClientKey: f.Key} {
		pem, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, pem, 0o600); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Minute)
		if err := os.Chtimes(dst, later, later); err != nil {
			t.Fatal(err)
		}
	}
	second, err := handshake(t, server, client)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := first.PeerCertificates[0].Subject.CommonName, second.PeerCertificates[0].Subject.CommonName; a != "server" || b != "client" {
		t.Fatalf("served %q then %q, want server then client", a, b)
	}
}

func TestCheck(t *testing.T) {
	f := testkit.Certs(t)
	for _, tt := range []struct {
		name  string
		files Files
		ok    bool
	}{
		{"nothing", Files{}, true},
		{"server", Files{Cert: f.Cert, Key: f.Key}, true},
		{"mutual", Files{Cert: f.Cert, Key: f.Key, ClientCA: f.CA, CA: f.CA}, true},
		{"cert without key", Files{Cert: f.Cert}, false},
		{"key of another cert", Files{Cert: f.Cert, Key: f.ClientKey}, false},
		{"client CA without cert", Files{ClientCA: f.CA}, false},
		{"CA that is no PEM", Files{CA: f.Key + ".missing"}, false},
		{"CA file without a certificate", Files{CA: f.Key}, false},
	} {
		if err := tt.files.Check(); (err == nil) != tt.ok {
			t.Errorf("%s: Check() = %v", tt.name, err)
		}
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:7071": true, "127.1.2.3:1": true, "[::1]:7071": true, "localhost:7071": true,
		":7071": false, "0.0.0.0:7071": false, "[::]:7071": false, "10.0.0.5:7071": false, "ledger:7071": false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v", addr, got)
		}
	}
}
