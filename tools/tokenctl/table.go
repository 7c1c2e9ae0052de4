package tokenctl

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// table is what a command prints: aligned columns by default, the same rows
// as CSV with -o csv. The footer (totals, notes) shows in table output only,
// so a CSV holds nothing but the header and the rows.
type table struct {
	header []string
	rows   [][]string
	footer []string
}

func newTable(header ...string) *table { return &table{header: header} }

// add appends a row; each value is shown by cell.
func (t *table) add(values ...any) {
	row := make([]string, len(values))
	for i, v := range values {
		row[i] = cell(v)
	}
	t.rows = append(t.rows, row)
}

func (t *table) note(format string, args ...any) {
	t.footer = append(t.footer, fmt.Sprintf(format, args...))
}

// cell is a value as a table shows it: integers as they are, floats with
// two decimals, times in the local time zone, false as "".
func cell(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', 2, 64)
	case bool:
		if x {
			return "yes"
		}
		return ""
	case *timestamppb.Timestamp:
		if x == nil || x.AsTime().Unix() <= 0 {
			return ""
		}
		return x.AsTime().Local().Format(timeLayout)
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.Local().Format(timeLayout)
	case []string:
		return strings.Join(x, ",")
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(v)
	}
}

// emit prints resp as protojson with -o json, else t.
func (a *app) emit(cmd *cobra.Command, resp proto.Message, t *table) error {
	if a.settings.Output == outputJSON {
		return printProto(cmd.OutOrStdout(), resp)
	}
	return a.printRows(cmd, t)
}

// printRows prints t as a table or as CSV.
func (a *app) printRows(cmd *cobra.Command, t *table) error {
	w := cmd.OutOrStdout()
	if a.settings.Output == outputCSV {
		return writeCSV(w, t)
	}
	if len(t.rows) == 0 && len(t.footer) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "nothing to show")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	for _, r := range t.rows {
		shown := make([]string, len(r))
		for i, c := range r {
			shown[i] = c
			if c == "" {
				shown[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(shown, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(t.footer) > 0 {
		if len(t.rows) > 0 {
			fmt.Fprintln(w)
		}
		for _, f := range t.footer {
			fmt.Fprintln(w, f)
		}
	}
	return nil
}

func writeCSV(w io.Writer, t *table) error {
	cw := csv.NewWriter(w)
	header := make([]string, len(t.header))
	for i, h := range t.header {
		header[i] = strings.ToLower(h)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(t.rows); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// jsonOptions print every field, zero or not, under its proto name: a
// stable shape for scripts.
var jsonOptions = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// printProto prints m as protojson, indented by encoding/json (protojson
// varies its spacing on purpose).
func printProto(w io.Writer, m proto.Message) error {
	b, err := jsonOptions.Marshal(m)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// enumName is an enum value's name without its prefix, lower case with
// dashes: PACK_SOURCE_TRUE_UP → "true-up".
func enumName(name, prefix string) string {
	s := strings.TrimPrefix(name, prefix)
	if s == "UNSPECIFIED" {
		return ""
	}
	return strings.ReplaceAll(strings.ToLower(s), "_", "-")
}

// parseEnum finds the value of an enum (its generated _value map) whose
// enumName is s.
func parseEnum[E ~int32](flag, s string, values map[string]int32, prefix string) (E, error) {
	want := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
	for name, v := range values {
		if n := enumName(name, prefix); n != "" && n == want {
			return E(v), nil
		}
	}
	return 0, fmt.Errorf("invalid %s %q: want one of %s", flag, s, strings.Join(enumNames(values, prefix), ", "))
}

// enumNames are the choices of an enum in their declared order, for help,
// errors and completion.
func enumNames(values map[string]int32, prefix string) []string {
	type kv struct {
		name string
		v    int32
	}
	var all []kv
	for name, v := range values {
		if n := enumName(name, prefix); n != "" {
			all = append(all, kv{n, v})
		}
	}
	slices.SortFunc(all, func(x, y kv) int { return int(x.v - y.v) })
	names := make([]string, len(all))
	for i, x := range all {
		names[i] = x.name
	}
	return names
}
