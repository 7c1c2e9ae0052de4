package access

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// keys holds one key of each kind a caller can be.
var keys = map[string]string{
	"owner":             "owner-key-0001:acme:owner",
	"admin":             "admin-key-0001:acme:admin",
	"viewer":            "viewer-key-001:acme:viewer",
	"team-admin":        "team-key-0001:acme:team-admin:design",
	"launcher":          "launch-key-001:acme:launcher:design",
	"service:ingestion": "ingest-key-001:*:service:ingestion",
	"service:reporting": "report-key-001:*:service:reporting",
	"service:ledger":    "peer-key-00001:*:service:ledger",
}

// methods are every RPC of every tokenmeter service, from the generated
// descriptors: a new RPC is here whether or not anyone wrote its policy.
func methods(t *testing.T) []protoreflect.MethodDescriptor {
	var out []protoreflect.MethodDescriptor
	for _, file := range []protoreflect.FileDescriptor{v1.File_tokenmeter_v1_ledger_proto,
		v1.File_tokenmeter_v1_ingestion_proto, v1.File_tokenmeter_v1_reporting_proto, v1.File_tokenmeter_v1_alerting_proto} {
		for i := range file.Services().Len() {
			s := file.Services().Get(i)
			for j := range s.Methods().Len() {
				out = append(out, s.Methods().Get(j))
			}
		}
	}
	require.Greater(t, len(out), 40)
	return out
}

func fullName(m protoreflect.MethodDescriptor) string {
	return "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
}

// request is an m request naming team in every team field.
func request(t *testing.T, m protoreflect.MethodDescriptor, team string) proto.Message {
	typ, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
	require.NoError(t, err)
	msg := typ.New()
	scope, other := auth.TeamFields(m.Input())
	for _, f := range append(scope, other...) {
		if f.IsList() {
			msg.Mutable(f).List().Append(protoreflect.ValueOfString(team))
		} else {
			msg.Set(f, protoreflect.ValueOfString(team))
		}
	}
	return msg.Interface()
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s stream) Context() context.Context { return s.ctx }

// call runs m through the interceptor as who, naming team; nil if the
// handler was reached.
func call(t *testing.T, a auth.Authorizer, m protoreflect.MethodDescriptor, who, team string) error {
	secret, _, _ := strings.Cut(keys[who], ":")
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+secret, auth.MetadataOrg, "acme"))
	if m.IsStreamingServer() || m.IsStreamingClient() {
		return a.Stream()(nil, stream{ctx: ctx}, &grpc.StreamServerInfo{FullMethod: fullName(m)},
			func(any, grpc.ServerStream) error { return nil })
	}
	_, err := a.Unary()(ctx, request(t, m, team), &grpc.UnaryServerInfo{FullMethod: fullName(m)},
		func(context.Context, any) (any, error) { return "ok", nil })
	return err
}

func allows(m protoreflect.MethodDescriptor, who string) bool {
	for _, r := range Policy[fullName(m)] {
		if string(r) == who {
			return true
		}
	}
	return false
}

// Every RPC of every service has a policy, and for every kind of caller it
// is either let through or refused with PermissionDenied, as the table says.
func TestEveryRPCHasAPolicyForEveryRole(t *testing.T) {
	spec := ""
	for _, k := range keys {
		spec += k + ","
	}
	ring, err := auth.ParseKeyring(spec)
	require.NoError(t, err)
	a := auth.Authorizer{Keys: ring, Policy: Policy}
	seen := map[string]bool{}
	for _, m := range methods(t) {
		name := fullName(m)
		seen[name] = true
		require.Contains(t, Policy, name, "%s has no policy: add it to access.Policy", name)
		for who := range keys {
			want := allows(m, who)
			err := call(t, a, m, who, "design")
			if want {
				require.NoError(t, err, "%s may call %s", who, name)
			} else {
				require.Equal(t, codes.PermissionDenied, status.Code(err), "%s may not call %s: %v", who, name, err)
			}
		}
		if scope, _ := auth.TeamFields(m.Input()); allows(m, "team-admin") && len(scope) > 0 {
			require.Equal(t, codes.PermissionDenied, status.Code(call(t, a, m, "team-admin", "civil")),
				"a team admin of design calls %s for civil", name)
		}
	}
	for name := range Policy {
		require.True(t, seen[name], "policy of %s, which no service has", name)
	}
}

// The table's shape: no entry admits every service key; an owner may do
// all an admin may; a viewer only reads; a team admin is granted only calls
// that name teams and are not streams (else the grant would be dead).
func TestPolicyShape(t *testing.T) {
	require.NotEmpty(t, nestedTeams((&v1.QuoteLaunchRequest{}).ProtoReflect().Descriptor(), 0), "nested teams are found")
	readOnly := []string{"Get", "List", "Watch", "Export", "Forecast", "Advise", "Quote", "WhoAmI", "Estimate"}
	for _, m := range methods(t) {
		name, roles := fullName(m), Policy[fullName(m)]
		require.NotContains(t, roles, auth.RoleService, "%s: name the service (auth.ServiceOf)", name)
		if allows(m, "admin") {
			require.True(t, allows(m, "owner"), "%s: an owner may do all an admin may", name)
		}
		if allows(m, "viewer") {
			require.True(t, startsWithAny(string(m.Name()), readOnly), "%s: a viewer changes nothing", name)
		}
		if allows(m, "team-admin") {
			scope, _ := auth.TeamFields(m.Input())
			aboutCaller := m.Input().Fields().Len() == 0 && m.Name() == "WhoAmI"
			require.True(t, len(scope) > 0 || aboutCaller, "%s: granted to team admins but names no team", name)
			require.False(t, m.IsStreamingServer() || m.IsStreamingClient(), "%s: team admins open no streams", name)
			require.Empty(t, nestedTeams(m.Input(), 0), "%s: a team named inside a nested message is not checked", name)
		}
	}
}

func startsWithAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// nestedTeams lists team fields of the messages inside md, which the
// team check (top-level fields only) does not see.
func nestedTeams(md protoreflect.MessageDescriptor, depth int) []string {
	var out []string
	if depth > 0 {
		scope, other := auth.TeamFields(md)
		for _, f := range append(scope, other...) {
			out = append(out, string(f.FullName()))
		}
	}
	fields := md.Fields()
	for i := range fields.Len() {
		if f := fields.Get(i); f.Message() != nil && depth < 3 {
			out = append(out, nestedTeams(f.Message(), depth+1)...)
		}
	}
	return out
}
