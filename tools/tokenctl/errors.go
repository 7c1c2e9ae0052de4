package tokenctl

import (
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// callError is a failed call told as what went wrong and what to do. It
// keeps the gRPC status, so status.Code still reads it.
type callError struct {
	msg string
	st  *status.Status
}

func (e *callError) Error() string              { return e.msg }
func (e *callError) GRPCStatus() *status.Status { return e.st }

// endpoint names a service as the user configured it, for messages.
type endpoint struct {
	service, addr, flag, env string
}

func (a *app) alerting() endpoint {
	return endpoint{service: "alerting", addr: a.settings.AlertingAddr, flag: "--alerting-addr", env: "TOKENMETER_ALERTING_ADDR"}
}

// requestFields maps request fields to the flags or arguments that set them.
var requestFields = map[string]string{
	"team_ids": "--team",
	"kinds":    "--kind",
	"limit":    "--limit",
	"since":    "--since",
	"alert_id": "alert id",
}

var indexSuffix = regexp.MustCompile(`\[\d+\]$`)

// explain turns the error of a call to ep into a callError; other errors
// pass unchanged.
func (a *app) explain(ep endpoint, err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() == codes.OK {
		return err
	}
	s := a.settings
	msg := st.Message()
	var out string
	switch st.Code() {
	case codes.Unauthenticated:
		if s.APIKey == "" {
			out = fmt.Sprintf("%s at %s needs an API key: set --api-key or TOKENMETER_API_KEY (or api_key in %s) to an admin key of your organisation",
				ep.service, ep.addr, a.configName())
		} else {
			out = fmt.Sprintf("%s at %s does not accept the API key from %s (%s): set --api-key or TOKENMETER_API_KEY to a current admin key of your organisation",
				ep.service, ep.addr, s.from["api-key"], msg)
		}
	case codes.PermissionDenied:
		out = fmt.Sprintf("%s refused the call: %s; tokenctl needs an admin key of your organisation (or a service key with --org)", ep.service, msg)
	case codes.InvalidArgument:
		out = invalid(st)
	case codes.NotFound:
		out = msg
	case codes.Unavailable:
		out = fmt.Sprintf("cannot reach %s at %s (%s): is it running? Check %s or %s", ep.service, ep.addr, msg, ep.flag, ep.env)
	case codes.DeadlineExceeded:
		out = fmt.Sprintf("%s at %s did not answer within %s: try again, or give it longer with --timeout", ep.service, ep.addr, s.Timeout)
	case codes.Unimplemented:
		out = fmt.Sprintf("the server at %s does not serve the %s API (%s): check %s or %s", ep.addr, ep.service, msg, ep.flag, ep.env)
	case codes.Canceled:
		out = "cancelled"
	default:
		out = fmt.Sprintf("%s at %s: %s (%s)", ep.service, ep.addr, msg, st.Code())
	}
	return &callError{msg: out, st: st}
}

// invalid names the flag or argument behind each bad field.
func invalid(st *status.Status) string {
	if strings.Contains(st.Message(), auth.MetadataOrg) {
		return "this is a service key: name the organisation it acts for with --org or TOKENMETER_ORG"
	}
	var parts []string
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			field := v.GetField()
			if f, ok := requestFields[indexSuffix.ReplaceAllString(field, "")]; ok {
				field = f
			}
			parts = append(parts, fmt.Sprintf("invalid %s: %s", field, v.GetDescription()))
		}
	}
	if len(parts) == 0 {
		return "invalid request: " + st.Message()
	}
	return strings.Join(parts, "; ")
}

func (a *app) configName() string {
	if a.settings.Config != "" {
		return a.settings.Config
	}
	return "the config file"
}

// retryable says whether a watch should reconnect after err.
func retryable(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false // not a call's error: printing or the state file failed
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.Internal, codes.Unknown, codes.ResourceExhausted:
		return true
	}
	return false
}
