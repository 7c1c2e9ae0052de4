package grpcserver_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
)

// However many violations, and whatever they quote, the answer stays small.
func TestViolationsAreBounded(t *testing.T) {
	var v grpcserver.Violations
	for range 10000 {
		v.Add("items", "bad item %s", strings.Repeat("x", 10<<10))
	}
	st := status.Convert(v.Err())
	require.Equal(t, codes.InvalidArgument, st.Code())
	require.LessOrEqual(t, len(st.Message()), grpcserver.MaxMessage)
	require.Contains(t, st.Message(), "(and 9999 more)")
	br, ok := st.Details()[0].(*errdetails.BadRequest)
	require.True(t, ok)
	require.Len(t, br.GetFieldViolations(), grpcserver.MaxViolations)
	require.LessOrEqual(t, len(br.GetFieldViolations()[0].GetDescription()), grpcserver.MaxDescription)
	require.Less(t, proto.Size(st.Proto()), (grpcserver.MaxViolations+2)*(grpcserver.MaxDescription+16))
}
