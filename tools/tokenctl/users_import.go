package tokenctl

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Bounds of an import file, and the rows the ledger plans in one call.
const (
	maxImportBytes = 1 << 20
	maxImportRows  = 10_000
	planBatch      = 1000
)

// importRow is one line of an import file and what becomes of it.
type importRow struct {
	line   int
	row    *v1.AssignmentRow
	plan   *v1.AssignmentPlan
	result string
}

func (a *app) usersImportCommand() *cobra.Command {
	var apply bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Assign or unassign many users from a CSV file: shows what would change, then --apply",
		Long: `FILE is CSV with the header team,user,products[,action]: products separated
by ';' ('*' for every product), action assign (the default) or unassign. At most
10,000 rows and 1 MiB. Without --apply nothing changes: each row shows what it
would change (assign, replace, unassign, unchanged) or why it is refused. With
--apply the rows that change something are applied, each reported; refused rows
are left out and make the exit status 1. Running it again changes only what is
still different, so an interrupted import is finished by running it again.`,
		Example: "  tokenctl users import staff.csv\n  tokenctl users import staff.csv --apply",
		Args:    exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rows, err := readImport(args[0])
			if err != nil {
				return err
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			if err := planImport(cmd.Context(), client, rows); err != nil {
				return err
			}
			if apply {
				applyImport(cmd.Context(), client, rows)
			}
			return a.reportImport(cmd, rows, apply)
		},
	}
	cmd.Flags().BoolVar(&apply, "apply", false, "make the changes (default: only show them)")
	return cmd
}

// readImport parses an import file; a malformed line becomes a refused row.
func readImport(path string) ([]*importRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read only: closing loses nothing
	if st, err := f.Stat(); err == nil && st.Size() > maxImportBytes {
		return nil, fmt.Errorf("%s: %d bytes, at most %d", path, st.Size(), maxImportBytes)
	}
	r := csv.NewReader(io.LimitReader(f, maxImportBytes))
	r.FieldsPerRecord, r.TrimLeadingSpace = -1, true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h := strings.ToLower(strings.Join(header, ",")); h != "team,user,products" && h != "team,user,products,action" {
		return nil, fmt.Errorf("%s: the header must be team,user,products[,action], not %q", path, strings.Join(header, ","))
	}
	var rows []*importRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if len(rows) == maxImportRows {
			return nil, fmt.Errorf("%s: more than %d rows", path, maxImportRows)
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, parseImportRow(line, rec, err))
	}
}

func parseImportRow(line int, rec []string, err error) *importRow {
	ir := &importRow{line: line, row: &v1.AssignmentRow{}, plan: &v1.AssignmentPlan{Change: "invalid"}}
	switch {
	case err != nil:
		ir.plan.Error = err.Error()
	case len(rec) < 3 || len(rec) > 4:
		ir.plan.Error = fmt.Sprintf("want 3 or 4 fields (team,user,products[,action]), got %d", len(rec))
	default:
		ir.row.TeamId, ir.row.UserId = rec[0], rec[1]
		for _, p := range strings.Split(rec[2], ";") {
			if p = strings.TrimSpace(p); p != "" {
				ir.row.ProductCodes = append(ir.row.ProductCodes, p)
			}
		}
		action := "assign"
		if len(rec) == 4 && rec[3] != "" {
			action = strings.ToLower(rec[3])
		}
		switch action {
		case "assign":
			ir.plan = nil
		case "unassign":
			ir.row.Unassign, ir.plan = true, nil
		default:
			ir.plan.Error = "action: want assign or unassign, not " + quote.Prefix(rec[3])
		}
	}
	return ir
}

// planImport asks the ledger what each well-formed row would change.
func planImport(ctx context.Context, c v1.LedgerServiceClient, rows []*importRow) error {
	var pending []*importRow
	for _, r := range rows {
		if r.plan == nil {
			pending = append(pending, r)
		}
	}
	for start := 0; start < len(pending); start += planBatch {
		batch := pending[start:min(start+planBatch, len(pending))]
		req := &v1.PlanAssignmentsRequest{}
		for _, r := range batch {
			req.Rows = append(req.Rows, r.row)
		}
		resp, err := c.PlanAssignments(ctx, req)
		if err != nil {
			return err
		}
		if len(resp.GetPlans()) != len(batch) {
			return fmt.Errorf("the ledger planned %d rows of %d", len(resp.GetPlans()), len(batch))
		}
		for i, r := range batch {
			r.plan = resp.GetPlans()[i]
		}
	}
	return nil
}

// applyImport makes each planned change, one call a row, and records how
// each went; a failed row does not stop the others.
func applyImport(ctx context.Context, c v1.LedgerServiceClient, rows []*importRow) {
	for _, r := range rows {
		var err error
		id := eventID("")
		switch r.plan.GetChange() {
		case "assign", "replace":
			_, err = c.AssignUser(ctx, &v1.AssignUserRequest{EventId: id, TeamId: r.row.GetTeamId(), UserId: r.row.GetUserId(), ProductCodes: r.row.GetProductCodes()})
		case "unassign":
			_, err = c.UnassignUser(ctx, &v1.UnassignUserRequest{EventId: id, TeamId: r.row.GetTeamId(), UserId: r.row.GetUserId()})
		default:
			continue
		}
		r.result = "done"
		if err != nil {
			r.result = "failed: " + err.Error()
		}
	}
}

// reportImport prints every row and the counts; refused or failed rows
// make the command fail after the report.
func (a *app) reportImport(cmd *cobra.Command, rows []*importRow, applied bool) error {
	header := []string{"LINE", "TEAM", "USER", "CHANGE", "PRODUCTS_NOW", "PRODUCTS_THEN", "ERROR"}
	if applied {
		header = append(header, "RESULT")
	}
	t := newTable(header...)
	counts := map[string]int{}
	failed := 0
	for _, r := range rows {
		then := strings.Join(r.row.GetProductCodes(), ";")
		if r.row.GetUnassign() {
			then = ""
		}
		cells := []any{r.line, r.row.GetTeamId(), r.row.GetUserId(), r.plan.GetChange(),
			strings.Join(r.plan.GetProductsNow(), ";"), then, r.plan.GetError()}
		if applied {
			cells = append(cells, r.result)
		}
		t.add(cells...)
		counts[r.plan.GetChange()]++
		if strings.HasPrefix(r.result, "failed") {
			failed++
		}
	}
	t.note("%d to assign, %d to replace, %d to unassign, %d unchanged, %d refused",
		counts["assign"], counts["replace"], counts["unassign"], counts["unchanged"], counts["invalid"])
	if !applied {
		t.note("nothing changed: run again with --apply to make these changes")
	}
	if err := a.printRows(cmd, t); err != nil {
		return err
	}
	if counts["invalid"] > 0 || failed > 0 {
		return fmt.Errorf("%d rows refused, %d failed: see the ERROR and RESULT columns", counts["invalid"], failed)
	}
	return nil
}
