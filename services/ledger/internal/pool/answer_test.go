package pool

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// An answer gives back exactly the Outcome it was made of, whatever its
// times (a snapshot holds Outcomes); a time encoding/json refuses fails the
// snapshot.
func TestAnswerKeepsItsOutcome(t *testing.T) {
	strs := []string{"", "ev-1", "ann\x00REVIT", "日本", "bad\xffutf8"}
	times := []time.Time{{}, t0, t0.Add(123456789), time.Unix(0, 0).UTC(), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1500, 6, 1, 0, 0, 0, 0, time.UTC)}
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		o := Outcome{
			Decision: v1.Decision(r.IntN(3)), DenyReason: v1.DenyReason(r.IntN(8)), Tokens: r.Int64N(1 << 40),
			WindowID: strs[r.IntN(len(strs))], WindowEnd: times[r.IntN(len(times))], BalanceAfter: r.Int64() - 1<<62,
			At: times[r.IntN(len(times))], Fingerprint: strs[r.IntN(len(strs))], KeepRunning: r.IntN(2) == 1,
		}
		a := answerOf(o)
		require.Equal(t, o, a.outcome())
	}
	p := New("acme", "design")
	p.applied["x"] = answerOf(Outcome{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	_, err := p.MarshalSnapshot()
	require.Error(t, err, "a year encoding/json refuses is refused")
}
