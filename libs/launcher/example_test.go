package launcher_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/tokenmeter/tokenmeter/libs/launcher"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// A launcher asks before starting Revit, reports the session while it runs,
// and keeps events on disk while it cannot reach tokenmeter.
func Example() {
	addr, stop := serve(&standIn{}) // stands in for ingestion at 127.0.0.1:7070
	defer stop()
	queueDir, _ := os.MkdirTemp("", "launcher-queue")
	defer func() { _ = os.RemoveAll(queueDir) }()

	ctx := context.Background()
	client, err := launcher.New(launcher.Options{Addr: addr, APIKey: "dev-launcher-design", QueueDir: queueDir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = client.Close() }()

	// The event id is made once and reused by every retry: never charged twice.
	resp, err := client.Launch(ctx, &v1.LaunchRequest{TeamId: "design", UserId: "ann", ProductCode: "REVIT", ProductVersion: "2026", DeviceId: "ann-pc"})
	if err != nil {
		fmt.Println("cannot launch:", err)
		return
	}
	fmt.Println(resp.GetDecision(), resp.GetTokensCharged(), "tokens, balance", resp.GetBalanceAfter())

	hb, err := client.Heartbeat(ctx, &v1.HeartbeatRequest{TeamId: "design", UserId: "ann", ProductCode: "REVIT", WindowId: resp.GetWindowId(), Active: true})
	switch {
	case errors.Is(err, launcher.ErrQueued):
		fmt.Println("offline: heartbeat kept for later")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println("keep running:", hb.GetKeepRunning())
	}

	// Whatever was queued while offline goes out in order, once.
	flushed, err := client.Flush(ctx)
	fmt.Println("flushed", len(flushed.Results), err)
	// Output:
	// DECISION_AUTHORIZED 10 tokens, balance 90
	// keep running: true
	// flushed 0 <nil>
}
