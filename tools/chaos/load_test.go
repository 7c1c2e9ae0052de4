package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// A launcher's patience: each call's deadline, and how often it retries a
// retryable answer under the same event id.
const (
	callTimeout = 5 * time.Second
	maxAttempts = 30
	maxBackoff  = 250 * time.Millisecond
	// connsPerTeam connections of 1,000 streams each (grpcserver's limit).
	connsPerTeam = 4
)

// attempt is one call and its answer.
type attempt struct {
	id         string // event id (a retry keeps it)
	team       string
	start, end time.Time
	code       codes.Code
	retryIn    time.Duration // the answer's RetryInfo, 0 without
	why        string        // an error's message, cut short
	decision   v1.Decision
	tokens     int64
	burst      bool // part of an overload burst
}

func (a attempt) took() time.Duration { return a.end.Sub(a.start) }

// load launches at a steady rate from many launchers, every launch with its
// own event id, and records every answer.
type load struct {
	// clients are by team, several connections each: a burst of many
	// launchers is not held back by one connection's stream limit.
	clients map[string][]v1.IngestionServiceClient
	users   int
	next    atomic.Int64

	mu       sync.Mutex
	attempts []attempt
}

func newLoad(t *testing.T, addr string, users int) *load {
	t.Helper()
	l := &load{clients: map[string][]v1.IngestionServiceClient{}, users: users}
	for team, key := range teams {
		for range connsPerTeam {
			conn, err := grpcserver.Dial(addr, key)
			require.NoError(t, err)
			t.Cleanup(func() { _ = conn.Close() })
			l.clients[team] = append(l.clients[team], v1.NewIngestionServiceClient(conn))
		}
	}
	return l
}

// run keeps workers launchers busy, rate launches a second in all, until
// ctx ends; the launches under way then finish their retries.
func (l *load) run(ctx context.Context, workers int, rate float64) *sync.WaitGroup {
	var wg sync.WaitGroup
	gap := time.Duration(float64(workers) / rate * float64(time.Second))
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			tick := time.NewTicker(gap)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				l.launch(rng, false)
			}
		})
	}
	return &wg
}

// burst sends n launches at once, each tried once: the overload of item 2.
func (l *load) burst(n int) []attempt {
	var wg sync.WaitGroup
	out := make([]attempt, n)
	for i := range n {
		wg.Go(func() {
			out[i] = l.launch(rand.New(rand.NewPCG(uint64(i), 7)), true)
		})
	}
	wg.Wait()
	return out
}

// launch sends one launch, retrying a retryable answer (as the launcher SDK
// does) unless it is part of a burst, and returns the last attempt.
func (l *load) launch(rng *rand.Rand, burst bool) attempt {
	n := l.next.Add(1)
	team := "design"
	if n%2 == 0 {
		team = "civil"
	}
	codes := []string{"REVIT", "ACAD", "CIVIL3D"}
	req := &v1.LaunchRequest{EventId: fmt.Sprintf("chaos-%07d", n), TeamId: team,
		UserId: userName(rng.IntN(l.users)), ProductCode: codes[rng.IntN(len(codes))]}
	for try := 1; ; try++ {
		a := l.call(team, req)
		a.burst = burst
		l.mu.Lock()
		l.attempts = append(l.attempts, a)
		l.mu.Unlock()
		if burst || try == maxAttempts || !retryable(a.code) {
			return a
		}
		time.Sleep(min(max(a.retryIn, 20*time.Millisecond), maxBackoff))
	}
}

func (l *load) call(team string, req *v1.LaunchRequest) attempt {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	a := attempt{id: req.GetEventId(), team: team, start: time.Now()}
	clients := l.clients[team]
	client := clients[int(l.next.Load())%len(clients)]
	resp, err := client.Launch(ctx, req, grpc.WaitForReady(false))
	a.end = time.Now()
	a.code = status.Code(err)
	if err != nil {
		// Without the event ids, answers group by why.
		why := eventIDs.ReplaceAllString(status.Convert(err).Message(), "chaos-…")
		a.retryIn, a.why = retryInfo(err), quote.Cut(why, 72)
		return a
	}
	a.decision, a.tokens = resp.GetDecision(), resp.GetTokensCharged()
	return a
}

var eventIDs = regexp.MustCompile(`chaos-[0-9]+`)

func retryable(c codes.Code) bool {
	return c == codes.Unavailable || c == codes.ResourceExhausted || c == codes.DeadlineExceeded || c == codes.Aborted
}

func retryInfo(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// all is every attempt recorded so far.
func (l *load) all() []attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]attempt(nil), l.attempts...)
}
