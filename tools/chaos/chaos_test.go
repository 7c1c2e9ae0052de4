package chaos

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

var duration = flag.Duration("chaos.duration", 0,
	"run the full schedule for this long (default $CHAOS_DURATION; 0: the short schedule of make test)")

// The load of the run: launches a second from workers launchers, users per
// team, tokens in each team's pack (drained within a short run), and the
// overload burst, far more than ingestion's in-flight bound and as many waiting.
const (
	rate        = 200
	workers     = 16
	users       = 200
	tokens      = 1500
	maxInFlight = 64
	burstSize   = 1000
)

func TestChaos(t *testing.T) {
	steps, loadFor := plan(durationOf(t, *duration, "CHAOS_DURATION"))
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	bin := buildAll(t)
	phase("built")
	s := startStack(t, bin, stackConfig{natsNodes: 1, reporting: 1})
	phase("started")
	s.seed(tokens, users)
	phase("seeded")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	seqs := s.sampleLedger(ctx)
	l := newLoad(t, s.ingestion.addr, users)
	loadCtx, stopLoad := context.WithTimeout(ctx, loadFor)
	launchers := l.run(loadCtx, workers, rate)
	start := time.Now()
	outages, burst, rss := s.execute(t, l, steps, start)
	<-loadCtx.Done()
	stopLoad()
	launchers.Wait()
	cancel()
	<-seqs.stopped
	answers := l.all()
	phase("load done")

	sum := summary{outages: outages, answers: answers, loadFor: time.Since(start)}
	t.Run("ledger", func(t *testing.T) {
		log := readLedger(t, s)
		checkLedger(t, s, answers, log)
		sum.ledgerSeq = log.last
		phase("ledger checked")
		t.Run("clickhouse", func(t *testing.T) { checkClickHouse(t, s.ch.conn, log) })
		phase("clickhouse checked")
	})
	for _, o := range outages {
		switch o.p {
		case s.nats:
			t.Run("item1-nats-outage", func(t *testing.T) { checkNATSOutage(t, o, answers) })
		case s.reporting:
			t.Run("item3-reporting-resume", func(t *testing.T) {
				sum.resumes = append(sum.resumes, [2]uint64{checkResume(t, o, seqs.before(o.killed.Add(-checkpointEvery))), seqs.before(o.killed)})
			})
		}
		t.Run("item5-logged-"+o.p.name, func(t *testing.T) { checkLogged(t, s, o, answers) })
	}
	t.Run("item2-burst", func(t *testing.T) {
		sum.admitted, sum.refused, sum.worstRefusal = checkBurst(t, burst, rss)
		sum.rss = rss
	})
	phase("checked")
	sum.print(t)
	s.keepLogs(t, began)
}

// keepLogs writes every process's logs to $CHAOS_LOGS, or when the test
// failed to a new directory under $TMPDIR, and says where.
func (s *stack) keepLogs(t *testing.T, began time.Time) {
	dir := os.Getenv("CHAOS_LOGS")
	if dir == "" && !t.Failed() {
		return
	}
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tokenmeter-chaos-"+began.Format("20060102-150405"))
	}
	if err := writeLogs(dir, s.procs()); err != nil {
		t.Logf("keeping the logs: %v", err)
		return
	}
	t.Logf("every process's log is in %s", dir)
}

// checkpointEvery is reporting's checkpoint interval and a flush: a restart
// resumes no further back than this before its kill.
const checkpointEvery = 12 * time.Second

// execute runs the steps against the load started at start and returns the
// outages, the burst's answers and ingestion's peak memory after it.
func (s *stack) execute(t *testing.T, l *load, steps []step, start time.Time) ([]outage, []attempt, int64) {
	var (
		mu      sync.Mutex
		outages []outage
		burst   []attempt
		rss     int64
		wg      sync.WaitGroup
	)
	for _, st := range steps {
		wg.Go(func() {
			time.Sleep(time.Until(start.Add(st.at)))
			if st.pick == nil {
				b := l.burst(burstSize)
				mu.Lock()
				burst, rss = append(burst, b...), max(rss, peakRSS(s.ingestion.pid()))
				mu.Unlock()
				return
			}
			o, err := bounce(st.pick(s), st.down)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			outages = append(outages, o)
			mu.Unlock()
		})
	}
	wg.Wait()
	return outages, burst, rss
}

// bounce kills p, waits down and starts it again.
func bounce(p *proc, down time.Duration) (outage, error) {
	o := outage{p: p, killed: time.Now()}
	if err := p.kill(); err != nil {
		return o, err
	}
	time.Sleep(down)
	if err := p.start(); err != nil {
		return o, err
	}
	o.back = time.Now()
	return o, nil
}

// answered counts the final answers by outcome.
func answered(answers []attempt) (launches, authorized, refused, unavailable, timeouts int) {
	last := map[string]attempt{}
	for _, a := range answers {
		last[a.id] = a
		switch a.code {
		case codes.Unavailable:
			unavailable++
		case codes.DeadlineExceeded:
			timeouts++
		}
	}
	for _, a := range last {
		switch {
		case a.code == codes.OK && a.decision == v1.Decision_DECISION_AUTHORIZED:
			authorized++
		case a.code == codes.OK:
			refused++
		}
	}
	return len(last), authorized, refused, unavailable, timeouts
}
