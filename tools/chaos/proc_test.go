package chaos

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// readyTimeout bounds a process's start, a ledger replaying its log included.
const readyTimeout = 60 * time.Second

// run is one life of a process: its output and when it started and ended.
type run struct {
	out        *testkit.Output
	start, end time.Time
	pid        int
}

// proc is one component, started again after each kill with the same
// command line, environment and address.
type proc struct {
	name string
	bin  string
	args []string
	env  []string
	// addr is what ready waits on: a gRPC health check, or for NATS a TCP
	// accept, or when health is set a 200 from that URL.
	addr   string
	grpc   bool
	health string
	// rig, when set, runs the component instead (a ClickHouse replica of
	// the dev cluster): kill and start go through it, ready waits on addr.
	rig rigged

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	runs []*run
}

// rigged is a component another rig runs: Kill ends it with SIGKILL,
// Start starts it again.
type rigged interface {
	Kill() error
	Start() error
}

// start begins a new life and waits until it is ready; it may run on any
// goroutine, so it returns its failure.
func (p *proc) start() error {
	if p.rig != nil {
		if err := p.rig.Start(); err != nil {
			return fmt.Errorf("start %s: %w", p.name, err)
		}
		return p.ready(&run{out: &testkit.Output{}}, nil)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	r := &run{out: &testkit.Output{}, start: time.Now()}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	r.pid = cmd.Process.Pid
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		p.mu.Lock()
		r.end = time.Now()
		p.mu.Unlock()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done, p.runs = cmd, done, append(p.runs, r)
	p.mu.Unlock()
	return p.ready(r, done)
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() error {
	if p.rig != nil {
		return p.rig.Kill()
	}
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-done
	return nil
}

// stop kills the process if it runs (cleanup).
func (p *proc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

// current is the life under way (or the last one).
func (p *proc) current() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runs[len(p.runs)-1]
}

// pid is the running process's id.
func (p *proc) pid() int { return p.current().pid }

func (p *proc) ready(r *run, done chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("%s exited at start:\n%s", p.name, r.out)
		default:
		}
		if p.answers() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s:\n%s", p.name, readyTimeout, r.out)
}

func (p *proc) answers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if p.health != "" {
		return httpOK(ctx, p.health)
	}
	if !p.grpc {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.addr)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}
	conn, err := grpcserver.Dial(p.addr, "")
	if err != nil {
		return false
	}
	defer func() { _ = conn.Close() }()
	r, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{})
	return err == nil && r.GetStatus() == grpc_health_v1.HealthCheckResponse_SERVING
}

func httpOK(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// buildAll builds the four services and nats-server (whose module root is
// its main package) into one directory, in one go command.
func buildAll(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pkgs := []string{"github.com/nats-io/nats-server/v2"}
	for _, s := range services {
		pkgs = append(pkgs, "./services/"+s+"/cmd/"+s)
	}
	// Without symbol tables and DWARF: linking five binaries is most of the build.
	args := append([]string{"build", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return dir
}

var services = []string{"ledger", "ingestion", "reporting", "alerting"}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// writeLogs writes every life's output to dir, one file each.
func writeLogs(dir string, procs []*proc) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range procs {
		p.mu.Lock()
		runs := append([]*run(nil), p.runs...)
		p.mu.Unlock()
		for i, r := range runs {
			name := filepath.Join(dir, fmt.Sprintf("%s-%d.log", p.name, i+1))
			if err := os.WriteFile(name, []byte(r.out.String()), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
