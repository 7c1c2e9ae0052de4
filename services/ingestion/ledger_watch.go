package ingestion

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"github.com/tokenmeter/tokenmeter/libs/outage"
)

// watchLedger logs each loss of the ledger connection and each recovery,
// once, until ctx ends or conn closes. An idle connection is reconnected at
// once: a lost ledger is then noticed when it goes, not at the next launch.
func watchLedger(ctx context.Context, conn *grpc.ClientConn, t *outage.Tracker) {
	errLost := errors.New("no connection to the ledger")
	for {
		state := conn.GetState()
		switch state {
		case connectivity.Ready:
			t.OK(ctx)
		case connectivity.TransientFailure:
			t.Fail(ctx, errLost)
		case connectivity.Idle:
			conn.Connect()
		case connectivity.Shutdown:
			return
		}
		if !conn.WaitForStateChange(ctx, state) {
			return
		}
	}
}
