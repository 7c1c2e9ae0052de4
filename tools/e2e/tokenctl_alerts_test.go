package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting"
	"github.com/tokenmeter/tokenmeter/tools/tokenctl"
)

const (
	ctlAdminKey    = "acme-admin-key-0001"
	ctlLauncherKey = "acme-launcher-key-01"
)

// alertingRig is the alerting service run in-process against embedded NATS,
// with a ledger writer that makes teams cross the low-balance threshold.
type alertingRig struct {
	t    *testing.T
	url  string
	addr string
	js   jetstream.JetStream
	svc  *alerting.Service
	n    int

	stopSvc func()
}

func startAlertingRig(t *testing.T) *alertingRig {
	t.Helper()
	url, _ := testkit.NATS(t)
	// The test plays the ledger; ingestion would have provisioned USAGE.
	_, js, err := eventlog.Connect(t.Context(), testkit.Client(t, url, "ledger"), "ledger-writer", quietLog(),
		eventlog.Streams{Own: []string{eventlog.LedgerStream}})
	require.NoError(t, err)
	usage, _, err := eventlog.Connect(t.Context(), testkit.Client(t, url, "ingestion"), "usage", quietLog(),
		eventlog.Streams{Own: []string{eventlog.UsageStream}})
	require.NoError(t, err)
	usage.Close()
	r := &alertingRig{t: t, url: url, js: js}
	r.start("127.0.0.1:0")
	t.Cleanup(func() { r.stop() })
	return r
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs an alerting service listening on listen.
func (r *alertingRig) start(listen string) {
	r.t.Helper()
	cfg := alerting.Config{
		Common: config.Common{Listen: listen, NATSURL: r.url, NATSCreds: testkit.Creds(r.t, r.url, "alerting"), LogLevel: "info",
			APIKeys: ctlAdminKey + ":acme:admin," + ctlLauncherKey + ":acme:launcher:design"},
		LowBalancePercent: 20, WebhookAttempts: 1, WebhookBackoff: time.Millisecond, UserHashKey: testkit.UserHashKey,
	}
	svc, err := alerting.New(r.t.Context(), cfg, testkit.FailureLog(r.t))
	require.NoError(r.t, err)
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.t.Context()))
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	r.svc, r.addr = svc, svc.Addr()
	r.stopSvc = func() {
		cancel()
		require.NoError(r.t, <-done)
	}
}

func (r *alertingRig) stop() {
	if r.stopSvc != nil {
		r.stopSvc()
		r.stopSvc = nil
	}
}

func (r *alertingRig) append(team string, ev *v1.Event, available, live int64) {
	r.t.Helper()
	r.n++
	pool := &v1.PoolFigures{Available: available, Live: live}
	switch p := ev.GetPayload().(type) {
	case *v1.Event_WindowCharged:
		p.WindowCharged.Pool = pool
	case *v1.Event_PackAdded:
		p.PackAdded.Pool = pool
	}
	ev.EventId, ev.OrgId, ev.TeamId = fmt.Sprintf("ctl-ev-%d", r.n), "acme", team
	ev.ServerTime = timestamppb.New(time.Date(2026, 3, 2, 9, r.n, 0, 0, time.UTC))
	res, err := eventlog.Append(r.t.Context(), r.js, eventlog.LedgerSubject("acme", team), ev, nil)
	require.NoError(r.t, err)
	ctx, cancel := context.WithTimeout(r.t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(r.t, r.svc.WaitProcessed(ctx, res.Sequence))
}

// cross makes team's balance recover, then fall to 10 %: one low_balance alert.
func (r *alertingRig) cross(team string) {
	r.t.Helper()
	r.append(team, &v1.Event{Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p", Tokens: 1000}}}, 1000, 1000)
	r.append(team, &v1.Event{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{ProductCode: "RVT", Tokens: 10}}}, 100, 1000)
}

// ctlEnv is a private environment: no config or state of the machine's user.
func ctlEnv(t *testing.T, addr, key string) map[string]string {
	return map[string]string{
		"TOKENMETER_ALERTING_ADDR": addr, "TOKENMETER_API_KEY": key,
		"XDG_CONFIG_HOME": t.TempDir(), "XDG_STATE_HOME": t.TempDir(), "HOME": t.TempDir(),
	}
}

func ctlOptions(env map[string]string) tokenctl.Options {
	return tokenctl.Options{
		Getenv:       func(k string) string { return env[k] },
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond,
	}
}

// ctl runs one tokenctl command to its end.
func ctl(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	code = tokenctl.Run(ctx, ctlOptions(env), args, &out, &errb)
	return code, out.String(), errb.String()
}

// running is a tokenctl command running in the background, e.g. a watch.
type running struct {
	out, err *testkit.Output
	cancel   context.CancelFunc
	done     chan int
}

func startCtl(t *testing.T, env map[string]string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{out: &testkit.Output{}, err: &testkit.Output{}, cancel: cancel, done: make(chan int, 1)}
	go func() { r.done <- tokenctl.Run(ctx, ctlOptions(env), args, r.out, r.err) }()
	t.Cleanup(cancel)
	return r
}

// stop interrupts the command as Ctrl-C does and returns its exit code.
func (r *running) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("tokenctl did not stop")
		return -1
	}
}

// waitRows waits until the watch printed n rows under its header.
func (r *running) waitRows(t *testing.T, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.out.Lines()) >= n+1 }, 15*time.Second, 5*time.Millisecond,
		"stdout:\n%s\nstderr:\n%s", r.out, r.err)
	lines := r.out.Lines()
	require.Regexp(t, `^SEQ\s+TIME\s+SEVERITY\s+TEAM\s+KIND\s+MESSAGE$`, lines[0])
	return lines[1:]
}

// seqs are the sequence column of watch rows.
func seqs(rows []string) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, strings.Fields(r)[0])
	}
	return out
}

func TestTokenctlAlertsWatchResumesWithoutGapOrDuplicate(t *testing.T) {
	t.Parallel()
	rig := startAlertingRig(t)
	env := ctlEnv(t, rig.addr, ctlAdminKey)
	state := filepath.Join(t.TempDir(), "watch.json")
	rig.cross("design")
	rig.cross("build")
	rig.cross("design")

	w := startCtl(t, env, "alerts", "watch", "--from", "1", "--state-file", state)
	rows := w.waitRows(t, 3)
	require.Equal(t, 0, w.stop(t), "Ctrl-C is a clean stop")
	require.Len(t, rows, 3)
	require.Equal(t, []string{"1", "2", "3"}, seqs(rows))
	for i, team := range []string{"design", "build", "design"} {
		require.Regexp(t, `^\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+warning\s+`+team+`\s+low_balance\s+Team `+team+
			` has 100 tokens left \(10 %\) of 1000 live$`, rows[i])
	}
	require.Contains(t, w.err.String(), "from sequence 1")

	// Raised while nobody watched.
	rig.cross("build")
	rig.cross("design")
	again := startCtl(t, env, "alerts", "watch", "--state-file", state)
	again.waitRows(t, 2)
	// One more while it watches.
	rig.cross("build")
	rows = again.waitRows(t, 3)
	require.Equal(t, 0, again.stop(t))
	require.Equal(t, []string{"4", "5", "6"}, seqs(rows), "only what came after the last alert printed")
	require.Contains(t, again.err.String(), "from sequence 4")

	var st struct {
		LastSequence uint64 `json:"last_sequence"`
	}
	data, err := os.ReadFile(state)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &st))
	require.EqualValues(t, 6, st.LastSequence)

	// Filters and JSON lines: --from overrides the state.
	code, out, stderr := ctlUntil(t, env, 3, "alerts", "watch", "--from", "1", "--team", "build", "-o", "json", "--state-file", state)
	require.Equal(t, 0, code, stderr)
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var a map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &a), l)
		got = append(got, a)
	}
	require.Len(t, got, 3)
	for _, a := range got {
		require.Equal(t, "build", a["team_id"])
		require.Equal(t, "warning", a["severity"])
		require.Equal(t, "low_balance", a["kind"])
		require.Regexp(t, `^low_balance\.acme\.build\.\d+$`, a["alert_id"])
	}
	require.EqualValues(t, 2, got[0]["sequence"])
	require.EqualValues(t, 4, got[1]["sequence"])
	require.EqualValues(t, 6, got[2]["sequence"])
}

// ctlUntil runs a watch until it printed n lines, then stops it.
func ctlUntil(t *testing.T, env map[string]string, n int, args ...string) (int, string, string) {
	t.Helper()
	r := startCtl(t, env, args...)
	require.Eventually(t, func() bool { return len(r.out.Lines()) >= n }, 15*time.Second, 5*time.Millisecond, "stderr: %s", r.err)
	code := r.stop(t)
	return code, r.out.String(), r.err.String()
}

func TestTokenctlAlertsWatchFirstRunStartsFromNow(t *testing.T) {
	t.Parallel()
	rig := startAlertingRig(t)
	env := ctlEnv(t, rig.addr, ctlAdminKey)
	rig.cross("design")
	rig.cross("design")

	w := startCtl(t, env, "alerts", "watch", "--kind", "low_balance")
	// The default state file, under $XDG_STATE_HOME, is written as soon as
	// the watch knows where it starts.
	dir := filepath.Join(env["XDG_STATE_HOME"], "tokenmeter", "alerts-watch")
	require.Eventually(t, func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "127.0.0.1_*-*.json"))
		return len(files) == 1
	}, 10*time.Second, 5*time.Millisecond, "stderr: %s", w.err)
	rig.cross("build")
	rows := w.waitRows(t, 1)
	require.Equal(t, []string{"3"}, seqs(rows), "what was there before the first run is not replayed")
	require.Equal(t, 0, w.stop(t))
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	require.Len(t, files, 1, "no temporary file left behind")
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.NotContains(t, string(data), ctlAdminKey, "the state holds no credential")
}

func TestTokenctlAlertsWatchReconnectsWhenAlertingRestarts(t *testing.T) {
	t.Parallel()
	rig := startAlertingRig(t)
	env := ctlEnv(t, rig.addr, ctlAdminKey)
	w := startCtl(t, env, "alerts", "watch", "--from", "1")
	rig.cross("design")
	w.waitRows(t, 1)

	addr := rig.addr
	rig.stop()
	require.Eventually(t, func() bool { return strings.Contains(w.err.String(), "retrying in") }, 10*time.Second, 5*time.Millisecond)
	rig.start(addr) // the same address, the same stream
	rig.cross("build")
	rows := w.waitRows(t, 2)
	require.Equal(t, 0, w.stop(t))
	require.Equal(t, []string{"1", "2"}, seqs(rows), "resumed after the last alert: none lost, none twice")
	require.Contains(t, rows[1], "build")
	require.Contains(t, w.err.String(), "lost alerting at "+addr+" (alerting is stopping; resume from sequence 2); resuming from sequence 2; retrying in")
}

func TestTokenctlAlertsListAndAck(t *testing.T) {
	t.Parallel()
	rig := startAlertingRig(t)
	env := ctlEnv(t, rig.addr, ctlAdminKey)

	code, out, stderr := ctl(t, env, "alerts", "list")
	require.Equal(t, 0, code, stderr)
	require.Empty(t, out)
	require.Contains(t, stderr, "no alerts")

	rig.cross("design")
	rig.cross("build")
	code, out, stderr = ctl(t, env, "alerts", "list")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	require.Regexp(t, `^SEQ\s+TIME\s+SEVERITY\s+TEAM\s+KIND\s+ACK\s+ID\s+MESSAGE$`, lines[0])
	require.Regexp(t, `^2\s+.*\s+warning\s+build\s+low_balance\s+-\s+low_balance\.acme\.build\.\d+\s+Team build has 100 tokens left`, lines[1], "newest first")
	require.Regexp(t, `^1\s+.*\s+design\s+`, lines[2])
	id := strings.Fields(lines[2])[7]

	code, out, stderr = ctl(t, env, "alerts", "ack", id)
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `^acknowledged `+strings.ReplaceAll(id, ".", `\.`)+` \(low_balance, team design\) by [0-9A-Za-z_-]+ at \d{4}-`, out)

	code, out, stderr = ctl(t, env, "alerts", "list", "-o", "json", "--unacked")
	require.Equal(t, 0, code, stderr)
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list, 1)
	require.Equal(t, "build", list[0]["team_id"])
	require.Equal(t, false, list[0]["acknowledged"])

	code, out, _ = ctl(t, env, "alerts", "list", "--team", "design", "-o", "json", "--since", "2026-03-01")
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list, 1)
	require.Equal(t, true, list[0]["acknowledged"])
	require.NotEmpty(t, list[0]["acknowledged_by"])

	code, _, stderr = ctl(t, env, "alerts", "ack", "low_balance.acme.design.999")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `tokenctl: ack low_balance.acme.design.999: alert "low_balance.acme.design.999" not found`)
}

func TestTokenctlErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	rig := startAlertingRig(t)
	rig.cross("design")
	for _, tt := range []struct {
		name string
		key  string
		env  map[string]string
		args []string
		want []string
	}{
		{"no key", "", nil, []string{"alerts", "list"},
			[]string{"alerting at " + rig.addr + " needs an API key: set --api-key or TOKENMETER_API_KEY (or api_key in the config file)"}},
		{"unknown key", "not-a-key-of-ours", nil, []string{"alerts", "list"},
			[]string{"does not accept the API key from TOKENMETER_API_KEY", "set --api-key or TOKENMETER_API_KEY to a current key of your organisation"}},
		{"unknown key on the command line", ctlAdminKey, nil, []string{"alerts", "list", "--api-key", "not-a-key-of-ours"},
			[]string{"does not accept the API key from --api-key"}},
		{"watch with an unknown key stops at once", "not-a-key-of-ours", nil, []string{"alerts", "watch"},
			[]string{"does not accept the API key"}},
		{"watch resuming with an unknown key stops at once", "not-a-key-of-ours", nil, []string{"alerts", "watch", "--from", "1"},
			[]string{"does not accept the API key"}},
		{"launcher key", ctlLauncherKey, nil, []string{"alerts", "list"},
			[]string{"this key's role launcher may not call ListAlerts (viewer, team-admin, admin, owner may); ask an owner of your organisation for a viewer key"}},
		{"bad team", ctlAdminKey, nil, []string{"alerts", "list", "--team", "design,a.b"},
			[]string{"invalid --team: team id \"a.b\""}},
		{"bad kind on a watch", ctlAdminKey, nil, []string{"alerts", "watch", "--from", "1", "--kind", "*"},
			[]string{"invalid --kind"}},
		{"bad output", ctlAdminKey, map[string]string{"TOKENMETER_OUTPUT": "yaml"}, []string{"alerts", "list"},
			[]string{`output "yaml" (TOKENMETER_OUTPUT): want table, json or csv`}},
		{"bad since", ctlAdminKey, nil, []string{"alerts", "list", "--since", "last tuesday"},
			[]string{`invalid --since "last tuesday"`}},
		{"nobody there", ctlAdminKey, map[string]string{"TOKENMETER_ALERTING_ADDR": "127.0.0.1:1"}, []string{"alerts", "list"},
			[]string{"cannot reach alerting at 127.0.0.1:1: nothing listens there; is it running? check --alerting-addr or TOKENMETER_ALERTING_ADDR"}},
		{"unknown flag", ctlAdminKey, nil, []string{"alerts", "list", "--tema", "x"},
			[]string{"unknown flag: --tema", "run 'tokenctl alerts list --help' for usage"}},
		{"missing config file", ctlAdminKey, map[string]string{"TOKENMETER_CONFIG": "/nonexistent/tokenmeter.yaml"}, []string{"alerts", "list"},
			[]string{"config file: open /nonexistent/tokenmeter.yaml"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := ctlEnv(t, rig.addr, tt.key)
			for k, v := range tt.env {
				env[k] = v
			}
			code, out, stderr := ctl(t, env, tt.args...)
			require.Equal(t, 1, code, "stdout: %s", out)
			require.Empty(t, out)
			require.Regexp(t, `(?m)^tokenctl: .*`+regexp.QuoteMeta(tt.want[0]), stderr)
			for _, w := range tt.want {
				require.Contains(t, stderr, w)
			}
			require.NotContains(t, stderr, "retrying", "a refusal is not retried")
		})
	}
}

func TestTokenctlConfigFile(t *testing.T) {
	t.Parallel()
	rig := startAlertingRig(t)
	rig.cross("design")
	env := ctlEnv(t, "", "")
	delete(env, "TOKENMETER_ALERTING_ADDR")
	delete(env, "TOKENMETER_API_KEY")
	path := filepath.Join(env["XDG_CONFIG_HOME"], "tokenmeter", "config.yaml")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	write := func(content string, mode os.FileMode) {
		require.NoError(t, os.WriteFile(path, []byte(content), mode))
		require.NoError(t, os.Chmod(path, mode))
	}

	write("# tokenctl\nalerting_addr: "+rig.addr+"\napi_key: "+ctlAdminKey+"\noutput: json\n", 0o600)
	code, out, stderr := ctl(t, env, "alerts", "list")
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stderr)
	require.True(t, json.Valid([]byte(out)), out)

	// Flags and environment win over the file.
	env["TOKENMETER_OUTPUT"] = "table"
	code, out, _ = ctl(t, env, "alerts", "list")
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out, "SEQ"), out)
	code, out, _ = ctl(t, env, "alerts", "list", "-o", "json")
	require.Equal(t, 0, code)
	require.True(t, json.Valid([]byte(out)), out)
	code, _, stderr = ctl(t, env, "alerts", "list", "--api-key", "not-a-key-of-ours")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "API key from --api-key")

	write("alerting_addr: "+rig.addr+"\napi_key: "+ctlAdminKey+"\n", 0o644)
	code, _, stderr = ctl(t, env, "alerts", "list")
	require.Equal(t, 0, code)
	require.Contains(t, stderr, "warning: config file "+path+" holds an API key and others may read it: chmod 600")

	write("alerting_adr: "+rig.addr+"\n", 0o600)
	code, _, stderr = ctl(t, env, "alerts", "list")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "config file "+path+": unknown key alerting_adr (known: alerting_addr, api_key, ingestion_addr, ledger_addr, org, output, reporting_addr, service_key, tls, tls_ca, tls_cert, tls_key, timeout)")

	write("api_key: [unclosed\n", 0o600)
	code, _, stderr = ctl(t, env, "alerts", "list")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "config file "+path+": yaml:")
}

func TestTokenctlCompletion(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t, "127.0.0.1:1", "")
	env["TOKENMETER_CONFIG"] = "/nonexistent/config.yaml" // completion scripts need no settings
	code, out, stderr := ctl(t, env, "completion", "bash")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "__start_tokenctl")
	code, out, _ = ctl(t, env, "__complete", "alerts", "watch", "--kind", "low")
	require.Equal(t, 0, code)
	require.Contains(t, out, "low_balance")
}
