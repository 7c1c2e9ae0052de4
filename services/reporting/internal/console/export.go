package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// exportHandler turns ReportingService.Export's stream of chunks into a
// file download: GET /api/export?kind=usage|packs|users|denials|spend&format=csv|xlsx
// &range=this-month|3m|6m|9m|12m or &from=YYYY-MM-DD&to=YYYY-MM-DD, and
// &team=<id> any number of times (none: every team).
type exportHandler struct {
	reporting v1.ReportingServiceClient
}

var (
	exportKinds = map[string]v1.ExportKind{"usage": v1.ExportKind_EXPORT_KIND_USAGE, "packs": v1.ExportKind_EXPORT_KIND_PACKS, "users": v1.ExportKind_EXPORT_KIND_USERS,
		"denials": v1.ExportKind_EXPORT_KIND_DENIALS, "spend": v1.ExportKind_EXPORT_KIND_SPEND}
	exportFormats = map[string]v1.ExportFormat{"csv": v1.ExportFormat_EXPORT_FORMAT_CSV, "xlsx": v1.ExportFormat_EXPORT_FORMAT_XLSX}
	rangePresets  = map[string]v1.RangePreset{
		"this-month": v1.RangePreset_RANGE_PRESET_THIS_MONTH, "3m": v1.RangePreset_RANGE_PRESET_LAST_3_MONTHS,
		"6m": v1.RangePreset_RANGE_PRESET_LAST_6_MONTHS, "9m": v1.RangePreset_RANGE_PRESET_LAST_9_MONTHS,
		"12m": v1.RangePreset_RANGE_PRESET_LAST_12_MONTHS,
	}
)

func (h *exportHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := parseExport(r)
	if err != nil {
		writeJSONError(w, codes.InvalidArgument, err.Error())
		return
	}
	md := metadata.MD{}
	if v := r.Header.Get("Authorization"); v != "" {
		md.Set("authorization", v)
	}
	if v := r.Header.Get(auth.MetadataOrg); v != "" {
		md.Set(auth.MetadataOrg, v)
	}
	stream, err := h.reporting.Export(metadata.NewOutgoingContext(r.Context(), md), req)
	if err != nil {
		writeStatus(w, err)
		return
	}
	// Nothing is written before the first chunk, so a refusal (bad key,
	// bad range) is still an HTTP error and not a broken download.
	first, err := stream.Recv()
	if err != nil {
		writeStatus(w, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", first.GetContentType())
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": first.GetFileName()}))
	for msg := first; ; {
		if _, err := w.Write(msg.GetChunk()); err != nil {
			return // the browser went away; the stream's context ends with the request
		}
		if msg, err = stream.Recv(); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			// Headers are gone: cutting the connection is the only way to
			// tell the browser the file is incomplete.
			panic(http.ErrAbortHandler)
		}
	}
}

func parseExport(r *http.Request) (*v1.ExportRequest, error) {
	q := r.URL.Query()
	var problems []string
	req := &v1.ExportRequest{TeamIds: q["team"], Range: &v1.UsageRange{}}
	kind, ok := exportKinds[strings.ToLower(q.Get("kind"))]
	if !ok {
		problems = append(problems, fmt.Sprintf("kind %s: want usage, packs, users, denials or spend", quote.Prefix(q.Get("kind"))))
	}
	req.Kind = kind
	format := q.Get("format")
	if format == "" {
		format = "csv"
	}
	if req.Format, ok = exportFormats[strings.ToLower(format)]; !ok {
		problems = append(problems, fmt.Sprintf("format %s: want csv or xlsx", quote.Prefix(format)))
	}
	switch from, to, preset := q.Get("from"), q.Get("to"), q.Get("range"); {
	case from != "" || to != "":
		if preset != "" {
			problems = append(problems, "give either range or from/to, not both")
		}
		req.Range.FromDate, req.Range.ToDate = from, to
	case preset != "":
		if req.Range.Preset, ok = rangePresets[preset]; !ok {
			problems = append(problems, fmt.Sprintf("range %s: want this-month, 3m, 6m, 9m or 12m", quote.Prefix(preset)))
		}
	default:
		req.Range.Preset = v1.RangePreset_RANGE_PRESET_THIS_MONTH
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return req, nil
}

// writeStatus answers a gRPC error with its HTTP status and message.
func writeStatus(w http.ResponseWriter, err error) {
	st := status.Convert(err)
	writeJSONError(w, st.Code(), st.Message())
}

// writeJSONError answers in the gateway's own error shape (google.rpc.Status
// as JSON), so the console reads every error the same way.
func writeJSONError(w http.ResponseWriter, code codes.Code, message string) {
	writeJSONErrorStatus(w, runtime.HTTPStatusFromCode(code), code, message)
}

// writeJSONErrorStatus is writeJSONError with an HTTP status of its own.
func writeJSONErrorStatus(w http.ResponseWriter, httpStatus int, code codes.Code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": message, "details": []any{}})
}
