package pool

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The answers a pool keeps encode to exactly the bytes encoding/json gives
// the map[string]Outcome they stand for (the snapshot format), come back as
// the same Outcomes, and keep their times exact.
func TestAppliedMapEncodesAsOutcomes(t *testing.T) {
	strs := []string{"", "ev-1", "ann\x00REVIT", `q"uo\te`, "<a&b>", "tab\tnl\ncr\rbs\bff\f\x01\x1f\x7f",
		"é", "日本", "\u2028\u2029", "bad\xffutf8", "L123456789-0"}
	times := []time.Time{{}, t0, t0.Add(123456789), time.Unix(0, 0).UTC(), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1500, 6, 1, 0, 0, 0, 0, time.UTC)}
	r := rand.New(rand.NewPCG(1, 2))
	outcomes := map[string]Outcome{}
	for i := range 500 {
		o := Outcome{
			Decision: v1.Decision(r.IntN(3)), DenyReason: v1.DenyReason(r.IntN(8)), Tokens: r.Int64N(1 << 40),
			WindowID: strs[r.IntN(len(strs))], WindowEnd: times[r.IntN(len(times))], BalanceAfter: r.Int64() - 1<<62,
			At: times[r.IntN(len(times))], Fingerprint: strs[r.IntN(len(strs))], KeepRunning: r.IntN(2) == 1,
		}
		outcomes[strs[i%len(strs)]+string(rune('a'+i%26))+time.Duration(i).String()] = o
	}
	m := appliedMap{}
	for id, o := range outcomes {
		m[id] = answerOf(o)
	}
	want, err := json.Marshal(outcomes)
	require.NoError(t, err)
	got, err := json.Marshal(m)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))

	// Read back as earlier versions read them (JSON mends invalid UTF-8).
	var old map[string]Outcome
	require.NoError(t, json.Unmarshal(want, &old))
	var back appliedMap
	require.NoError(t, json.Unmarshal(got, &back))
	require.Len(t, back, len(old))
	for id, o := range old {
		a := back[id]
		require.Equal(t, o, a.outcome(), id)
	}

	var none appliedMap
	b, err := json.Marshal(none)
	require.NoError(t, err)
	require.Equal(t, "null", string(b))
	require.NoError(t, json.Unmarshal([]byte("null"), &none))
	require.Nil(t, none)

	_, err = json.Marshal(appliedMap{"x": answerOf(Outcome{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})})
	require.Error(t, err, "a year encoding/json refuses is refused")
}

// appendJSONString quotes every string as encoding/json does.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "ann\x00REVIT", `"\`, "<>&", "\u2028", "\xff", "é\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
