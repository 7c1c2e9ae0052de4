package ingestion_test

import (
	"flag"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
)

// With -partitions 4 a team's telemetry goes to USAGE-<p> of its hash, on
// usage.<p>.<org>.<team>, and a repeated event id is checked against the
// event stored first in that stream.
func TestPartitionedTelemetry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := start(t, "", func(c *ingestion.Config) { c.Partitions = 4 })
	d := doors(t, e)["grpc"]
	launch := &v1.LaunchRequest{EventId: "launch-part-0001", TeamId: "design", UserId: "ann", ProductCode: "REVIT", ProductVersion: "2026", DeviceId: "pc-1"}
	require.NoError(t, d.call(ctx, designKey, "Launch", launch, &v1.LaunchResponse{}))
	hb := &v1.HeartbeatRequest{EventId: "hb-part-0001", TeamId: "design", UserId: "ann", ProductCode: "REVIT", Active: true}
	require.NoError(t, d.call(ctx, designKey, "Heartbeat", hb, &v1.HeartbeatResponse{}))
	require.NoError(t, d.call(ctx, designKey, "Heartbeat", hb, &v1.HeartbeatResponse{}), "a retry")
	hb.UserId = "bob"
	err := d.call(ctx, designKey, "Heartbeat", hb, &v1.HeartbeatResponse{})
	require.Equal(t, codes.AlreadyExists, status.Code(err), "another heartbeat under a used id: %v", err)
	require.Contains(t, status.Convert(err).Message(), "user ann")

	nc, err := nats.Connect(e.nats, testkit.Options(t, e.nats, "reader")...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	p := subject.PartitionOf("acme", "design", 4)
	for _, name := range []string{subject.UsageStream, subject.UsageStreamOf(0), subject.UsageStreamOf(1), subject.UsageStreamOf(2), subject.UsageStreamOf(3)} {
		stream, err := js.Stream(ctx, name)
		require.NoError(t, err, "%s provisioned", name)
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject.StreamSubjects(name)[0]))
		require.NoError(t, err)
		if name == subject.UsageStreamOf(p) {
			require.Equal(t, map[string]uint64{subject.UsageSubjectIn(p, "acme", "design"): 2}, info.State.Subjects, "the launch and the heartbeat, once each")
		} else {
			require.Empty(t, info.State.Subjects, name)
		}
	}
}

// -partitions falls back to TOKENMETER_PARTITIONS and is bounded by
// subject.MaxPartitions.
func TestPartitionsFlag(t *testing.T) {
	t.Setenv("TOKENMETER_PARTITIONS", "0")
	var cfg ingestion.Config
	fs := flag.NewFlagSet("ingestion", flag.ContinueOnError)
	cfg.Register(fs)
	require.NoError(t, config.Parse(fs, nil))
	require.ErrorContains(t, cfg.Validate(), "partitions 0: want 1 to 32")
	require.NoError(t, config.Parse(fs, []string{"-partitions", "32"}))
	require.Equal(t, 32, cfg.Partitions)
	require.NotContains(t, fmt.Sprint(cfg.Validate()), "partitions")
}
