package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
	"github.com/tokenmeter/tokenmeter/services/reporting/oidcprovider"
	"github.com/tokenmeter/tokenmeter/tools/demo"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// ssoLifetime is the console sessions' lifetime here: long enough for a
// sign-in and a page, short enough for the test to wait it out.
const ssoLifetime = 30 * time.Second

// TestConsoleSignOnInBrowser signs into the console through a real OpenID
// Connect provider (zitadel/oidc's, in process) with Chromium: a person
// whose organisation has no grant is refused, an admin lands on the demo
// organisation's figures and signs out; a viewer reads the reports, is
// offered no change and is refused by the API when it tries one; a team
// admin reads its team's pages and is refused another team; an owner
// creates, sees once and revokes an access key that names her as its
// creator, and grants a person without a line in the grants file a role on
// that page, which lets him in until she revokes it, ending his open
// session within a second; and a session past its lifetime sends the browser back to sign-in. The console serves TLS, as it must for
// Secure __Host- cookies; console/sso.spec.mjs is the browser's part.
func TestConsoleSignOnInBrowser(t *testing.T) {
	spec, chromium, node := browserTools(t)
	f := testkit.Certs(t)
	files := certs.Files{Cert: f.Cert, Key: f.Key, CA: f.CA}
	consoleAddr := freeAddr(t) // the provider must know the callback before the console listens
	redirect := "https://" + consoleAddr + "/auth/callback"
	op := oidcprovider.Start(t, "tokenmeter-console", "console-secret", redirect,
		oidcprovider.Person{ID: "u-ann", Username: "ann@demo.example", Password: "ann-password", Name: "Ann Admin",
			Claims: map[string]any{"tokenmeter_org": devstack.DemoOrg, "tokenmeter_role": []string{"staff", "admin"}}},
		oidcprovider.Person{ID: "u-vic", Username: "vic@demo.example", Password: "vic-password", Name: "Vic Viewer",
			Claims: map[string]any{"tokenmeter_org": devstack.DemoOrg, "tokenmeter_role": "viewer"}},
		oidcprovider.Person{ID: "u-olga", Username: "olga@demo.example", Password: "olga-password", Name: "Olga Owner",
			Claims: map[string]any{"tokenmeter_org": devstack.DemoOrg, "tokenmeter_role": "owner"}},
		oidcprovider.Person{ID: "u-tess", Username: "tess@demo.example", Password: "tess-password", Name: "Tess Team",
			Claims: map[string]any{"tokenmeter_org": devstack.DemoOrg, "tokenmeter_role": "design-leads"}},
		oidcprovider.Person{ID: "u-gus", Username: "gus@demo.example", Password: "gus-password", Name: "Gus Guest",
			Claims: map[string]any{"tokenmeter_org": devstack.DemoOrg, "tokenmeter_role": "contractors"}},
		oidcprovider.Person{ID: "u-rex", Username: "rex@elsewhere.example", Password: "rex-password", Name: "Rex Refused",
			Claims: map[string]any{"tokenmeter_org": "elsewhere", "tokenmeter_role": "admin"}})
	dir := t.TempDir()
	secret, grants := filepath.Join(dir, "secret"), filepath.Join(dir, "grants")
	require.NoError(t, os.WriteFile(secret, []byte("console-secret"), 0o600))
	require.NoError(t, os.WriteFile(grants, []byte(devstack.DemoOrg+":admin:admin\n"+devstack.DemoOrg+":viewer:viewer\n"+
		devstack.DemoOrg+":owner:owner\n"+devstack.DemoOrg+":design-leads:team-admin:design\n"), 0o600))

	ctx, cancel := context.WithCancel(t.Context())
	natsURL, _ := testkit.NATS(t)
	_, db := testkit.ClickHouse(t)
	stack, err := devstack.Start(ctx, devstack.Options{
		NATSURL: natsURL, NATSCreds: testkit.AllCreds(t, natsURL), ClickHouseAddr: testkit.ClickHouseAddr(), ClickHouseDatabase: db,
		IngestionListen: "127.0.0.1:0", LedgerListen: "127.0.0.1:0", ReportingListen: "127.0.0.1:0",
		AlertingListen: "127.0.0.1:0", ConsoleListen: consoleAddr, TLS: files,
		Reporting: func(rc *reporting.Config) {
			o := &rc.ConsoleOIDC
			o.Issuer, o.ClientID, o.ClientSecretFile, o.RedirectURL = op.Issuer, "tokenmeter-console", secret, redirect
			o.GrantsFile, o.Lifetime = grants, ssoLifetime
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		require.NoError(t, stack.Wait())
	})
	trusting, err := certs.Files{CA: f.CA}.Client()
	require.NoError(t, err)
	dialTLS := func(addr, key string) *grpc.ClientConn {
		conn, err := grpcserver.DialTLS(addr, key, trusting)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	admin := dialTLS(stack.Ledger.Addr(), devstack.AdminKey)
	// The demo's people are made up: its owner shows them, as the dev stack does.
	_, err = v1.NewLedgerServiceClient(dialTLS(stack.Ledger.Addr(), devstack.OwnerKey)).SetPersonalData(ctx,
		&v1.SetPersonalDataRequest{Show: true, Reason: "demo data", EventId: "demo-personal-data"})
	require.NoError(t, err)
	_, err = demo.Load(ctx, admin, dialTLS(stack.Ledger.Addr(), devstack.ServiceKey), devstack.DemoOrg, time.Now(), 2)
	require.NoError(t, err)
	want := consoleExpectations(t, v1.NewLedgerServiceClient(admin),
		v1.NewReportingServiceClient(dialTLS(stack.Reporting.Addr(), devstack.AdminKey)))
	expect, err := json.Marshal(map[string]any{"used": want.Used, "remaining": want.Remaining, "lifetimeMs": ssoLifetime.Milliseconds()})
	require.NoError(t, err)
	shots, err := filepath.Abs(filepath.Join("..", "..", "test-output", "console-sso"))
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(shots))

	run, stop := context.WithTimeout(ctx, 3*time.Minute)
	defer stop()
	cmd := exec.CommandContext(run, node, "--test", "--test-reporter=spec", "sso.spec.mjs")
	cmd.Dir = spec
	cmd.Env = append(os.Environ(), "CONSOLE_URL="+stack.Reporting.ConsoleURL(), "SCREENSHOT_DIR="+shots,
		"EXPECT="+string(expect), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser tests:\n%s", out)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("browser tests failed (exit %d); screenshots in %s", exit.ExitCode(), shots)
	}
	require.NoError(t, err)
}
