package tokenctl

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
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
		Long: `FILE is CSV with the header team,user,products[,action][,groups]: products
separated by ';' ('*' for every product), action assign (the default) or
unassign, groups the ids of the team's user groups the user should be a member
of, separated by ';' (at most 32; other memberships are left as they are). At
most 10,000 rows and 1 MiB. Without --apply nothing changes: each row shows what
it would change (assign, replace, unassign, unchanged; the groups to join) or
why it is refused. With
--apply the rows that change something are applied, each reported; refused rows
are left out and make the exit status 1. Running it again changes only what is
still different, so an interrupted import is finished by running it again.`,
		Example: "  tokenctl users import staff.csv\n  tokenctl users import staff.csv --apply",
		Args:    exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := readImport(args[0])
			if err != nil {
				return err
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			if err := planImport(cmd.Context(), client, file.rows); err != nil {
				return err
			}
			if apply {
				applyImport(cmd.Context(), client, file.rows)
			}
			return a.reportImport(cmd, file, apply)
		},
	}
	cmd.Flags().BoolVar(&apply, "apply", false, "make the changes (default: only show them)")
	return cmd
}

// readImport parses an import file; a malformed line becomes a refused row.
func readImport(path string) (*importFile, error) {
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
	cols, err := importColumns(header)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rows := &importFile{columns: cols}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if len(rows.rows) == maxImportRows {
			return nil, fmt.Errorf("%s: more than %d rows", path, maxImportRows)
		}
		line, _ := r.FieldPos(0)
		rows.rows = append(rows.rows, cols.parse(line, rec, err))
	}
}

// importFile is an import's rows and the columns its header named.
type importFile struct {
	columns importHeader
	rows    []*importRow
}

// importHeader is the header of an import: team,user,products, then action
// and groups in either order, each at most once.
type importHeader []string

func importColumns(header []string) (importHeader, error) {
	h := importHeader(strings.Split(strings.ToLower(strings.Join(header, ",")), ","))
	ok := len(h) >= 3 && len(h) <= 5 && strings.Join(h[:3], ",") == "team,user,products"
	for i, c := range h[min(3, len(h)):] {
		ok = ok && (c == "action" || c == "groups") && !slices.Contains(h[3:3+i], c)
	}
	if !ok {
		return nil, fmt.Errorf("the header must be team,user,products[,action][,groups], not %s", quote.Prefix(strings.Join(header, ",")))
	}
	return h, nil
}

func (h importHeader) has(column string) bool { return slices.Contains(h, column) }

// list splits a cell of values separated by ';'.
func list(cell string) []string {
	var out []string
	for _, v := range strings.Split(cell, ";") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parse reads one line; a row may leave out trailing optional columns.
func (h importHeader) parse(line int, rec []string, err error) *importRow {
	ir := &importRow{line: line, row: &v1.AssignmentRow{}, plan: &v1.AssignmentPlan{Change: "invalid"}}
	switch {
	case err != nil:
		ir.plan.Error = err.Error()
	case len(rec) < 3 || len(rec) > len(h):
		want := map[int]string{3: "3", 4: "3 or 4", 5: "3 to 5"}[len(h)]
		ir.plan.Error = fmt.Sprintf("want %s fields (%s), got %d", want, strings.Join(h, ","), len(rec))
	default:
		ir.row.TeamId, ir.row.UserId, ir.row.ProductCodes = rec[0], rec[1], list(rec[2])
		action := "assign"
		for i, c := range h[3:len(rec)] {
			switch cell := rec[3+i]; {
			case c == "groups":
				ir.row.GroupIds = list(cell)
			case cell != "":
				action = strings.ToLower(cell)
			}
		}
		switch action {
		case "assign":
			ir.plan = nil
		case "unassign":
			ir.row.Unassign, ir.plan = true, nil
		default:
			ir.plan.Error = "action: want assign or unassign, not " + quote.Prefix(action)
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

// applyImport makes each planned change, one call a row and one a group
// to join, and records how each went; a failed row does not stop the others.
func applyImport(ctx context.Context, c v1.LedgerServiceClient, rows []*importRow) {
	for _, r := range rows {
		var err error
		switch r.plan.GetChange() {
		case "assign", "replace":
			_, err = c.AssignUser(ctx, &v1.AssignUserRequest{EventId: eventID(""), TeamId: r.row.GetTeamId(), UserId: r.row.GetUserId(), ProductCodes: r.row.GetProductCodes()})
		case "unassign":
			_, err = c.UnassignUser(ctx, &v1.UnassignUserRequest{EventId: eventID(""), TeamId: r.row.GetTeamId(), UserId: r.row.GetUserId()})
		case "unchanged":
			if len(r.plan.GetGroupsToJoin()) == 0 {
				continue
			}
		default:
			continue
		}
		for _, g := range r.plan.GetGroupsToJoin() {
			if err == nil {
				_, err = c.ChangeUserGroupMembers(ctx, &v1.ChangeUserGroupMembersRequest{EventId: eventID(""), TeamId: r.row.GetTeamId(),
					GroupId: g, AddUserIds: []string{r.row.GetUserId()}, Reason: "tokenctl users import"})
			}
		}
		r.result = "done"
		if err != nil {
			r.result = "failed: " + err.Error()
		}
	}
}

// reportImport prints every row and the counts; refused or failed rows
// make the command fail after the report.
func (a *app) reportImport(cmd *cobra.Command, file *importFile, applied bool) error {
	groups := file.columns.has("groups")
	header := []string{"LINE", "TEAM", "USER", "CHANGE", "PRODUCTS_NOW", "PRODUCTS_THEN", "ERROR"}
	if groups {
		header = slices.Insert(header, 6, "JOIN_GROUPS")
	}
	if applied {
		header = append(header, "RESULT")
	}
	t := newTable(header...)
	counts := map[string]int{}
	failed, joins := 0, 0
	for _, r := range file.rows {
		then := strings.Join(r.row.GetProductCodes(), ";")
		if r.row.GetUnassign() {
			then = ""
		}
		cells := []any{r.line, r.row.GetTeamId(), r.row.GetUserId(), r.plan.GetChange(),
			strings.Join(r.plan.GetProductsNow(), ";"), then, r.plan.GetError()}
		if groups {
			cells = slices.Insert(cells, 6, any(strings.Join(r.plan.GetGroupsToJoin(), ";")))
			joins += len(r.plan.GetGroupsToJoin())
		}
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
	if groups {
		t.note("%d group memberships to add", joins)
	}
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
