package ingestion_test

import (
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

func itoa(i int) string { return strconv.Itoa(i) }

func testkitNATS(t *testing.T) (string, *server.Server) { return testkit.NATS(t) }

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
