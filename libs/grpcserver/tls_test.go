package grpcserver

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// listenTLS serves the probe over TLS from files; its policy lets service and
// admin keys call it.
func listenTLS(t *testing.T, files certs.Files) *Server {
	t.Helper()
	conf, err := files.Server()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := auth.ParseKeyring("service-key-0001:*:service:ingestion,admin-key-00001:acme:admin")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(Options{Listen: "127.0.0.1:0", TLS: conf,
		Auth: auth.Authorizer{Keys: ring, Policy: auth.Policy{probeMethod: {auth.RoleService, auth.RoleAdmin}}}})
	if err != nil {
		t.Fatal(err)
	}
	s.RegisterService(&probeDesc, &probe{})
	go func() { _ = s.Serve() }()
	t.Cleanup(func() { s.ShutdownWithin(time.Second) })
	return s
}

// check calls Check as key over a connection dialed with files (nil: plaintext).
func check(t *testing.T, addr, key string, files *certs.Files) error {
	t.Helper()
	conn, err := Dial(addr, key)
	if files != nil {
		conf, cerr := files.Client()
		if cerr != nil {
			t.Fatal(cerr)
		}
		conn, err = DialTLS(addr, key, conf)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := auth.ActingFor(t.Context(), "acme")
	return conn.Invoke(ctx, probeMethod, &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
}

func TestServerTLS(t *testing.T) {
	f := testkit.Certs(t)
	s := listenTLS(t, certs.Files{Cert: f.Cert, Key: f.Key})
	if err := check(t, s.Addr(), "admin-key-00001", &certs.Files{CA: f.CA}); err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	if err := check(t, s.Addr(), "admin-key-00001", nil); status.Code(err) != codes.Unavailable {
		t.Fatalf("plaintext to a TLS server: got %v, want Unavailable", err)
	}
	if err := check(t, s.Addr(), "admin-key-00001", &certs.Files{CA: f.OtherCA}); status.Code(err) != codes.Unavailable {
		t.Fatalf("a client trusting another CA: got %v, want Unavailable", err)
	}
}

// With -tls-client-ca, a service key counts only from a client whose
// certificate verified; people's keys need no certificate.
func TestServiceKeysNeedAClientCertificate(t *testing.T) {
	f := testkit.Certs(t)
	s := listenTLS(t, certs.Files{Cert: f.Cert, Key: f.Key, ClientCA: f.CA})
	if err := check(t, s.Addr(), "service-key-0001", &certs.Files{CA: f.CA, Cert: f.ClientCert, Key: f.ClientKey}); err != nil {
		t.Fatalf("service key with a client certificate: %v", err)
	}
	if err := check(t, s.Addr(), "service-key-0001", &certs.Files{CA: f.CA}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("service key without a client certificate: got %v, want PermissionDenied", err)
	}
	if err := check(t, s.Addr(), "admin-key-00001", &certs.Files{CA: f.CA}); err != nil {
		t.Fatalf("admin key without a client certificate: %v", err)
	}
}
