// Package launch is ingestion's launcher API: it validates what launchers
// send, stamps the server's time of receipt, asks the ledger, records the raw
// event on the USAGE stream and answers.
package launch

import (
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launchrules"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Limits on what a launcher may send beyond one event's (launchrules).
const (
	// MaxBatchBytes bounds one encoded offline batch.
	MaxBatchBytes = 2 << 20
	// MaxBatch bounds the events of one offline batch.
	MaxBatch = 1000
)

// checkSize refuses an encoded message over limit bytes.
func checkSize(bad *grpcserver.Violations, field string, m proto.Message, limit int) {
	launchrules.CheckSize(bad, field, m, limit)
}

func checkLaunch(prefix string, r *v1.LaunchRequest, now time.Time, maxSkew time.Duration) error {
	var bad grpcserver.Violations
	launchrules.CheckLaunch(&bad, prefix, r)
	checkClientTime(&bad, prefix+"occurred_at", r.GetOccurredAt().AsTime(), r.GetOccurredAt() != nil, now, maxSkew)
	return bad.Err()
}

// checkClientTime refuses client clocks absurdly far from the server's; the
// skew is recorded, never used for charging.
func checkClientTime(bad *grpcserver.Violations, field string, t time.Time, set bool, now time.Time, maxSkew time.Duration) {
	if !set || maxSkew <= 0 {
		return
	}
	if d := now.Sub(t); d > maxSkew || -d > maxSkew {
		bad.Add(field, "is %s away from the server's clock (at most %s)", d.Round(time.Second), maxSkew)
	}
}

func checkSession(prefix string, r launchrules.Session) grpcserver.Violations {
	var bad grpcserver.Violations
	launchrules.CheckSession(&bad, prefix, r)
	return bad
}
