package config

import (
	"strings"
	"testing"

	"github.com/tokenmeter/tokenmeter/libs/certs"
)

// A listener beyond loopback needs TLS or an explicit -insecure-plaintext.
func TestCheckListen(t *testing.T) {
	tls := certs.Files{Cert: "cert.pem", Key: "key.pem"}
	for _, tt := range []struct {
		addr     string
		files    certs.Files
		insecure bool
		ok       bool
	}{
		{"127.0.0.1:7071", certs.Files{}, false, true},
		{"[::1]:7071", certs.Files{}, false, true},
		{"localhost:7071", certs.Files{}, false, true},
		{"", certs.Files{}, false, true},
		{":7071", certs.Files{}, false, false},
		{"0.0.0.0:7071", certs.Files{}, false, false},
		{"10.1.2.3:7071", certs.Files{}, false, false},
		{":7071", tls, false, true},
		{":7071", certs.Files{CA: "ca.pem"}, false, false},
		{":7071", certs.Files{}, true, true},
	} {
		c := Common{TLS: tt.files, InsecurePlaintext: tt.insecure}
		err := c.CheckListen("listen", tt.addr)
		if (err == nil) != tt.ok {
			t.Errorf("%q tls=%v insecure=%v: %v", tt.addr, tt.files.Serving(), tt.insecure, err)
		}
		if err != nil && !strings.Contains(err.Error(), "-insecure-plaintext") {
			t.Errorf("the refusal says how to proceed: %v", err)
		}
	}
}
