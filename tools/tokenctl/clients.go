package tokenctl

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The services tokenctl talks to.
const (
	svcAlerting  = "alerting"
	svcIngestion = "ingestion"
	svcLedger    = "ledger"
	svcReporting = "reporting"
)

// endpoint names a service as the user configured it, for messages.
type endpoint struct {
	service, addr, flag, env string
}

func (a *app) endpoint(service string) endpoint {
	s := a.settings
	addr := map[string]string{svcAlerting: s.AlertingAddr, svcIngestion: s.IngestionAddr, svcLedger: s.LedgerAddr, svcReporting: s.ReportingAddr}[service]
	return endpoint{service: service, addr: addr, flag: "--" + service + "-addr", env: "TOKENMETER_" + strings.ToUpper(service) + "_ADDR"}
}

func (a *app) alerting() endpoint { return a.endpoint(svcAlerting) }

// conn is a connection to one service whose unary calls act for --org, end
// within --timeout and fail with a callError that says what to do. Streams
// act for --org only: their errors are explained by the command.
type conn struct {
	cc *grpc.ClientConn
	a  *app
	ep endpoint
}

func (c *conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	ctx, cancel := context.WithTimeout(c.a.callContext(ctx), c.a.settings.Timeout)
	defer cancel()
	if err := c.cc.Invoke(ctx, method, args, reply, opts...); err != nil {
		return c.a.explain(c.ep, method, err)
	}
	return nil
}

func (c *conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.cc.NewStream(c.a.callContext(ctx), desc, method, opts...)
}

// dial resolves the settings and connects to service with key (the API key
// when empty), once per invocation. The connection is lazy: a server that is
// down shows on the first call.
func (a *app) dial(cmd *cobra.Command, service, key string) (*conn, error) {
	if err := a.settings.resolve(); err != nil {
		return nil, err
	}
	if !a.warned {
		a.warned = true
		for _, w := range a.settings.Warnings {
			fmt.Fprintln(cmd.ErrOrStderr(), "tokenctl: warning:", w)
		}
	}
	id := service + "\x00" + key
	if c, ok := a.conns[id]; ok {
		return c, nil
	}
	ep := a.endpoint(service)
	apiKey := key
	if apiKey == "" {
		apiKey = a.settings.APIKey
	}
	tlsConf, err := a.settings.transport(ep.addr)
	if err != nil {
		return nil, err
	}
	cc, err := grpcserver.DialTLS(ep.addr, apiKey, tlsConf)
	if err != nil {
		return nil, fmt.Errorf("%s address %q: %w (check %s or %s)", service, ep.addr, err, ep.flag, ep.env)
	}
	c := &conn{cc: cc, a: a, ep: ep}
	a.conns[id] = c
	return c, nil
}

// close closes every connection of the invocation.
func (a *app) close() {
	for id, c := range a.conns {
		_ = c.cc.Close()
		delete(a.conns, id)
	}
}

func (a *app) ledgerClient(cmd *cobra.Command) (v1.LedgerServiceClient, error) {
	c, err := a.dial(cmd, svcLedger, "")
	if err != nil {
		return nil, err
	}
	return v1.NewLedgerServiceClient(c), nil
}

func (a *app) ingestionClient(cmd *cobra.Command) (v1.IngestionServiceClient, error) {
	c, err := a.dial(cmd, svcIngestion, "")
	if err != nil {
		return nil, err
	}
	return v1.NewIngestionServiceClient(c), nil
}

func (a *app) reportingClient(cmd *cobra.Command) (v1.ReportingServiceClient, error) {
	c, err := a.dial(cmd, svcReporting, "")
	if err != nil {
		return nil, err
	}
	return v1.NewReportingServiceClient(c), nil
}

func (a *app) alertingClient(cmd *cobra.Command) (v1.AlertingServiceClient, error) {
	c, err := a.dial(cmd, svcAlerting, "")
	if err != nil {
		return nil, err
	}
	return v1.NewAlertingServiceClient(c), nil
}

// callContext is ctx acting for --org when a service key needs it (an admin
// key's calls ignore it).
func (a *app) callContext(ctx context.Context) context.Context {
	if a.settings.Org != "" {
		ctx = auth.ActingFor(ctx, a.settings.Org)
	}
	return ctx
}
