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

// requestFields maps request fields to the flags or arguments that set them
// (the arguments as the commands' usage names them).
var requestFields = map[string]string{
	"team_ids":             "--team",
	"kinds":                "--kind",
	"limit":                "--limit",
	"since":                "--since",
	"alert_id":             "alert id",
	"team_id":              "TEAM",
	"from_team_id":         "FROM_TEAM",
	"into_team_id":         "INTO_TEAM",
	"counterparty_team_id": "TO_TEAM",
	"user_id":              "USER",
	"product_code":         "PRODUCT",
	"product_codes":        "--products",
	"pack_id":              "PACK_ID",
	"tokens":               "TOKENS",
	"units":                "UNITS",
	"reason":               "--reason",
	"unit_price_micros":    "--price",
	"daily_rate":           "RATE",
	"name":                 "--name",
	"group":                "--group",
	"effective_from":       "--effective",
	"currency":             "--currency",
	"source":               "--source",
	"purchased_at":         "--purchased",
	"expires_at":           "--expires",
	"contract_end":         "--contract-end",
	"event_id":             "--event-id",
	"label":                "--label",
	"key_id":               "KEY_ID",
	"range":                "--range/--from/--to",
	"range.preset":         "--range",
	"range.from_date":      "--from",
	"range.to_date":        "--to",
	"attribute_key":        "ATTRIBUTE",
	"user_limit":           "--user-limit",
	"term_start_month":     "--term-start",
	"term_tokens":          "--term-tokens",
	"format":               "--format",
	"budget.budget_id":     "BUDGET_ID",
	"budget.limit_tokens":  "--limit",
	"budget.key":           "--key",
	"budget.attribute_key": "--attribute",
	"budget.scope":         "--scope",
	"budget.period":        "--period",
	"webhook.url":          "URL",
	"webhook.team_id":      "TEAM",
	"webhook.webhook_id":   "WEBHOOK_ID",
	"webhook.secret":       "--secret",
	"webhook.min_severity": "--min-severity",
	"webhook.kinds":        "--kind",
	"webhook_id":           "WEBHOOK_ID",
}

var indexSuffix = regexp.MustCompile(`\[\d+\]$`)

// explain turns the error of a call of method ("" when unknown) to ep into
// a callError: one line of what went wrong and what to do. Other errors
// pass unchanged.
func (a *app) explain(ep endpoint, method string, err error) error {
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
			out = fmt.Sprintf("%s at %s does not accept the API key from %s (%s): set --api-key or TOKENMETER_API_KEY to a current key of your organisation; an owner makes one with 'tokenctl access create ROLE'",
				ep.service, ep.addr, s.from["api-key"], msg)
		}
	case codes.PermissionDenied:
		out = permissionAdvice(ep, method, msg)
	case codes.InvalidArgument:
		out = invalid(st)
	case codes.NotFound:
		out = msg
	case codes.FailedPrecondition:
		out = fmt.Sprintf("%s refused: %s (nothing was changed)", ep.service, msg)
	case codes.AlreadyExists:
		out = fmt.Sprintf("%s refused: %s (a retry must repeat the same request; a new request needs a new --event-id)", ep.service, msg)
	case codes.ResourceExhausted:
		out = fmt.Sprintf("%s at %s is busy (%s): wait a moment and try again", ep.service, ep.addr, msg)
	case codes.Aborted:
		out = fmt.Sprintf("%s at %s gave up on a conflict (%s): try again", ep.service, ep.addr, msg)
	case codes.Unavailable:
		out = unavailableAdvice(ep, msg)
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
			} else if rule, ok := strings.CutPrefix(field, "settings."); ok {
				field = "rule setting " + rule
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
