package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// binary builds a service's own main package.
func binary(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, "./services/"+name+"/cmd/"+name)
	cmd.Dir = filepath.Join("..", "..")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	return out
}

type proc struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

func start(t *testing.T, bin string, env ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin), out: &bytes.Buffer{}}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// stop sends SIGTERM and expects a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "exit after SIGTERM:\n%s", p.out)
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20 s after SIGTERM:\n%s", p.out)
	}
}

func waitServing(t *testing.T, addr string) {
	t.Helper()
	conn := dial(t, addr, "")
	require.Eventually(t, func() bool {
		r, err := grpc_health_v1.NewHealthClient(conn).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{})
		return err == nil && r.GetStatus() == grpc_health_v1.HealthCheckResponse_SERVING
	}, 20*time.Second, 50*time.Millisecond)
}

// The separate binaries run against an external NATS server, configured by
// environment, and stop cleanly on SIGTERM.
func TestSeparateBinaries(t *testing.T) {
	natsURL, _ := testkit.NATS(t)
	ledgerAddr, ingestAddr := freeAddr(t), freeAddr(t)
	env := []string{"TOKENMETER_NATS_URL=" + natsURL, "TOKENMETER_API_KEYS=" + devstack.APIKeys(), "TOKENMETER_LOG_LEVEL=warn"}
	// Each binary connects as its own NATS identity, its seed file named by environment.
	ledgerProc := start(t, binary(t, "ledger"), append(env, "TOKENMETER_LISTEN="+ledgerAddr,
		"TOKENMETER_NATS_CREDS="+testkit.Creds(t, natsURL, "ledger"), "TOKENMETER_USER_HASH_KEY="+testkit.UserHashKey)...)
	ingestProc := start(t, binary(t, "ingestion"), append(env, "TOKENMETER_LISTEN="+ingestAddr,
		"TOKENMETER_NATS_CREDS="+testkit.Creds(t, natsURL, "ingestion"),
		"TOKENMETER_LEDGER_ADDR="+ledgerAddr, "TOKENMETER_LEDGER_API_KEY="+devstack.ServiceKey)...)
	waitServing(t, ledgerAddr)
	waitServing(t, ingestAddr)

	ctx := t.Context()
	admin := v1.NewLedgerServiceClient(dial(t, ledgerAddr, devstack.AdminKey))
	_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: "FUSION", DailyRate: 2})
	require.NoError(t, err)
	_, err = admin.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "p1", Tokens: 20})
	require.NoError(t, err)
	_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: "design", UserId: "ann", ProductCodes: []string{"FUSION"}})
	require.NoError(t, err)
	resp, err := v1.NewIngestionServiceClient(dial(t, ingestAddr, devstack.LauncherKey)).Launch(ctx,
		&v1.LaunchRequest{EventId: fmt.Sprintf("bin-%d", time.Now().UnixNano()), TeamId: "design", UserId: "ann", ProductCode: "FUSION"})
	require.NoError(t, err)
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, resp.GetDecision())
	require.EqualValues(t, 18, resp.GetBalanceAfter())

	ingestProc.stop(t)
	ledgerProc.stop(t)
}

func TestBinaryRefusesBadConfig(t *testing.T) {
	cmd := exec.Command(binary(t, "ingestion"))
	cmd.Env = append(os.Environ(), "TOKENMETER_API_KEYS=", "TOKENMETER_LEDGER_API_KEY=")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "TOKENMETER_API_KEYS")
	require.Contains(t, string(out), "TOKENMETER_LEDGER_API_KEY", "every problem is named at once")
}

// Without a user-hash key the services that show people do not start.
func TestBinariesRefuseToStartWithoutUserHashKey(t *testing.T) {
	for _, name := range []string{"ledger", "reporting", "alerting"} {
		cmd := exec.Command(binary(t, name))
		cmd.Env = append(os.Environ(), "TOKENMETER_API_KEYS="+devstack.APIKeys(), "TOKENMETER_USER_HASH_KEY=")
		out, err := cmd.CombinedOutput()
		require.Error(t, err, name)
		require.Contains(t, string(out), "user-hash-key is required", "%s:\n%s", name, out)
	}
}
