package tokenctl

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// stack is the four services on an embedded NATS and a fresh ClickHouse
// database, as `make run` runs them, for one test and its subtests.
type stack struct {
	*devstack.Stack
	ledger  v1.LedgerServiceClient // with the admin key, to check what tokenctl says
	natsURL string
}

func startStack(t *testing.T) *stack { return startStackWith(t, nil) }

// startStackWith is startStack with tweak applied to the stack's options.
func startStackWith(t *testing.T, tweak func(*devstack.Options)) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	natsURL, _ := testkit.NATS(t)
	_, db := testkit.ClickHouse(t)
	o := devstack.Options{
		NATSURL: natsURL, NATSCreds: testkit.AllCreds(t, natsURL), ClickHouseAddr: testkit.ClickHouseAddr(), ClickHouseDatabase: db,
		IngestionListen: "127.0.0.1:0", LedgerListen: "127.0.0.1:0", ReportingListen: "127.0.0.1:0", AlertingListen: "127.0.0.1:0",
		Log: testkit.FailureLog(t),
	}
	if tweak != nil {
		tweak(&o)
	}
	s, err := devstack.Start(ctx, o)
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		require.NoError(t, s.Wait())
	})
	conn, err := grpcserver.Dial(s.Ledger.Addr(), devstack.AdminKey)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	// The demo's people are made up: its owner shows them, as the dev stack does.
	owner, err := grpcserver.Dial(s.Ledger.Addr(), devstack.OwnerKey)
	require.NoError(t, err)
	t.Cleanup(func() { _ = owner.Close() })
	_, err = v1.NewLedgerServiceClient(owner).SetPersonalData(ctx, &v1.SetPersonalDataRequest{Show: true, EventId: "tokenctl-test-show"})
	require.NoError(t, err)
	return &stack{Stack: s, ledger: v1.NewLedgerServiceClient(conn), natsURL: natsURL}
}

// env is a private environment pointing tokenctl at the stack with the dev
// admin key: no config or state of the machine's user.
func (s *stack) env(t *testing.T) map[string]string {
	return map[string]string{
		"TOKENMETER_LEDGER_ADDR": s.Ledger.Addr(), "TOKENMETER_INGESTION_ADDR": s.Ingestion.Addr(),
		"TOKENMETER_REPORTING_ADDR": s.Reporting.Addr(), "TOKENMETER_ALERTING_ADDR": s.Alerting.Addr(),
		"TOKENMETER_API_KEY": devstack.AdminKey, "TOKENMETER_SERVICE_KEY": devstack.ServiceKey, "TOKENMETER_ORG": devstack.DemoOrg,
		"XDG_CONFIG_HOME": t.TempDir(), "XDG_STATE_HOME": t.TempDir(), "HOME": t.TempDir(),
	}
}

// result is what one tokenctl run printed.
type result struct {
	code        int
	out, stderr string
}

// ctl runs tokenctl to its end.
func ctl(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return ctlWith(t, Options{}, env, args...)
}

func ctlWith(t *testing.T, o Options, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	return ctlCtx(ctx, o, env, args...)
}

func ctlCtx(ctx context.Context, o Options, env map[string]string, args ...string) result {
	var out, errb bytes.Buffer
	o.Getenv = func(k string) string { return env[k] }
	code := Run(ctx, o, args, &out, &errb)
	return result{code: code, out: out.String(), stderr: errb.String()}
}

// ok runs tokenctl and requires success.
func ok(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	r := ctl(t, env, args...)
	require.Equal(t, 0, r.code, "tokenctl %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.out, r.stderr)
	return r.out
}

// pollWait is how long a test waits for reporting to show what the ledger
// recorded; pollCall bounds each run within it, so one stalled call costs a
// retry, not the whole wait.
const (
	pollWait = 30 * time.Second
	pollCall = 10 * time.Second
)

// poll runs tokenctl until it succeeds with an output done accepts, for at
// most pollWait, and returns that output; a failure shows the last run.
// done runs on the test's goroutine, so it may use require.
func poll(t *testing.T, env map[string]string, done func(out string) bool, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(pollWait)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), pollCall)
		r := ctlCtx(ctx, Options{}, env, args...)
		cancel()
		if r.code == 0 && done(r.out) {
			return r.out
		}
		if time.Now().After(deadline) {
			t.Fatalf("tokenctl %s did not show it within %s; its last run exited %d\nstdout:\n%s\nstderr:\n%s",
				strings.Join(args, " "), pollWait, r.code, r.out, r.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tableRows are a table's lines split into columns, header first.
func tableRows(t *testing.T, out string) [][]string {
	t.Helper()
	var rows [][]string
	for _, l := range strings.Split(out, "\n") {
		if l == "" {
			break // the footer follows a blank line
		}
		rows = append(rows, strings.Fields(l))
	}
	require.NotEmpty(t, rows, out)
	return rows
}

// csvRows parses CSV output.
func csvRows(t *testing.T, out string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err, out)
	require.NotEmpty(t, rows)
	return rows
}

// protoOut parses -o json output into m.
func protoOut(t *testing.T, out string, m proto.Message) {
	t.Helper()
	require.NoError(t, protojson.Unmarshal([]byte(out), m), out)
}

// column finds a header's index.
func column(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if strings.EqualFold(h, name) {
			return i
		}
	}
	t.Fatalf("no column %s in %v", name, header)
	return -1
}
