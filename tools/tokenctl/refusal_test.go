package tokenctl

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Each refusal a server gives is told as one line of what to do, never as a
// raw gRPC status ("rpc error: code = … desc = …").
func TestRefusalAdvice(t *testing.T) {
	a := &app{settings: &settings{}}
	a.settings.APIKey, a.settings.from = "k", map[string]string{"api-key": "TOKENMETER_API_KEY"}
	ledger := a.endpoint(svcLedger)
	ledger.addr = "ledger.example:7071"
	bad, _ := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "user_id", Description: "must be 1-64 letters"}}})
	addPack := v1.LedgerService_AddPack_FullMethodName
	for _, tt := range []struct {
		name, method string
		st           *status.Status
		want         string
	}{
		{"viewer changes", addPack, status.New(codes.PermissionDenied, "a viewer key may not call "+addPack),
			"this key's role viewer may not call AddPack (team-admin, admin, owner may); ask an owner of your organisation for an admin key ('tokenctl access create admin')"},
		{"admin sets the personal-data setting", "", status.New(codes.PermissionDenied, "an admin key may not call "+v1.LedgerService_SetPersonalData_FullMethodName),
			"this key's role admin may not call SetPersonalData (only an owner may); ask an owner of your organisation to do it"},
		{"a service's call", "", status.New(codes.PermissionDenied, "an admin key may not call "+v1.LedgerService_AuthorizeBatch_FullMethodName),
			"this key's role admin may not call AuthorizeBatch, and no person's key may: it is a call between services"},
		{"another team", addPack, status.New(codes.PermissionDenied, "a team admin of design may not act for team civil"),
			"ledger refused AddPack: a team admin of design may not act for team civil; a team-admin key acts for its own team only"},
		{"service key for another organisation", addPack, status.New(codes.PermissionDenied, "this service key may not act for organisation initech"),
			"ledger refused AddPack: this service key may not act for organisation initech; a service key acts only for the organisations it was given: check --org"},
		{"revoked key", addPack, status.New(codes.Unauthenticated, "unknown or revoked api key"),
			"ledger at ledger.example:7071 does not accept the API key from TOKENMETER_API_KEY (unknown or revoked api key): set --api-key or TOKENMETER_API_KEY to a current key of your organisation; an owner makes one with 'tokenctl access create ROLE'"},
		{"nothing listens", addPack, status.New(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.9:7071: connect: connection refused"`),
			"cannot reach ledger at ledger.example:7071: nothing listens there; is it running? check --ledger-addr or TOKENMETER_LEDGER_ADDR"},
		{"TLS", addPack, status.New(codes.Unavailable, `connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"`),
			"cannot reach ledger at ledger.example:7071: the TLS handshake failed; is it running? check --tls-ca, --tls and the server's certificate"},
		{"unknown host", addPack, status.New(codes.Unavailable, `name resolver error: produced zero addresses; dial tcp: lookup nope: no such host`),
			"cannot reach ledger at ledger.example:7071: its host name does not resolve"},
		{"log down behind the service", addPack, status.New(codes.Unavailable, "event log unavailable; retry with the same event_id"),
			"ledger at ledger.example:7071 cannot serve the call now (event log unavailable; retry with the same event_id): try again in a moment"},
		{"erased user", "", status.New(codes.FailedPrecondition, "user_id was erased: an erased user is shown by pseudonym only and takes no profile"),
			"ledger refused: user_id was erased: an erased user is shown by pseudonym only and takes no profile (nothing was changed)"},
		{"bad field", "", bad, "invalid USER: must be 1-64 letters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := a.explain(ledger, tt.method, tt.st.Err())
			require.Equal(t, tt.st.Code(), status.Code(err), "the code is kept")
			msg := err.Error()
			require.True(t, strings.HasPrefix(msg, tt.want), "got  %s\nwant %s", msg, tt.want)
			require.NotContains(t, msg, "\n")
			require.NotContains(t, msg, "rpc error")
			require.NotContains(t, msg, "desc =")
		})
	}
	plain := errors.New("not a call's error")
	require.Equal(t, plain, a.explain(ledger, addPack, plain))
}
