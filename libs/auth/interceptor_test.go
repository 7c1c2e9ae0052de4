package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A service key makes only the calls its service's policy entries list: a
// stolen reporting key cannot make ingestion's calls.
func TestServiceKeysAreScopedToTheirService(t *testing.T) {
	ring, err := ParseKeyring("ingestion-key-1:*:service:ingestion,reporting-key-1:*:service:reporting")
	require.NoError(t, err)
	const launch, read, any = "/t.Ledger/Authorize", "/t.Ledger/GetBalance", "/t.Probe/Check"
	a := Authorizer{Keys: ring, Policy: Policy{
		launch: {ServiceOf(ServiceIngestion)},
		read:   {ServiceOf(ServiceReporting), ServiceOf(ServiceIngestion)},
		any:    {RoleService},
	}}
	call := func(key, method string) codes.Code {
		md := metadata.Pairs("authorization", "Bearer "+key, MetadataOrg, "acme")
		ctx, err := a.authorize(metadata.NewIncomingContext(context.Background(), md), method)
		if err == nil {
			p, _ := FromContext(ctx)
			require.Equal(t, "acme", p.Org)
		}
		return status.Code(err)
	}
	require.Equal(t, codes.OK, call("ingestion-key-1", launch))
	require.Equal(t, codes.OK, call("ingestion-key-1", read))
	require.Equal(t, codes.PermissionDenied, call("reporting-key-1", launch))
	require.Equal(t, codes.OK, call("reporting-key-1", read))
	require.Equal(t, codes.OK, call("reporting-key-1", any), "plain RoleService admits every service key")
}

func TestPolicyCheckAllocatesNothing(t *testing.T) {
	pol := Policy{"/t.Ledger/Authorize": {RoleAdmin, ServiceOf(ServiceReporting), ServiceOf(ServiceIngestion)}}
	p := Principal{Org: AnyOrg, Role: RoleService, Service: ServiceIngestion}
	allocs := testing.AllocsPerRun(100, func() {
		if !pol.allows("/t.Ledger/Authorize", p) {
			t.Fatal("refused")
		}
	})
	require.Zero(t, allocs)
}
