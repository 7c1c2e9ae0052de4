package tokenctl

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// testImport: a CSV import shows what it would change and changes nothing;
// --apply makes the changes and reports each row, refusing bad rows by
// line; run again, it finds nothing left to change.
func testImport(t *testing.T, s *stack) {
	env := s.env(t)
	ok(t, env, "users", "assign", "imp-a", "ann", "--products", "REVIT")
	ok(t, env, "users", "assign", "imp-a", "bob", "--products", "ACAD")
	ok(t, env, "users", "assign", "imp-a", "cid", "--products", "ACAD")
	file := filepath.Join(t.TempDir(), "staff.csv")
	require.NoError(t, os.WriteFile(file, []byte(`team,user,products,action
imp-a,ann,REVIT,
imp-a,bob,ACAD;REVIT
imp-a,cid,,unassign
imp-a,dee,*,assign
imp-a,e.f,REVIT
imp-a,gus,REVIT,promote
imp-a,hal
`), 0o600))
	changes := func(rows [][]string) map[string]string {
		out := map[string]string{}
		for _, r := range rows[1:] {
			out[r[2]] = r[3]
		}
		return out
	}
	dry := ctl(t, env, "users", "import", file, "-o", "csv")
	require.Equal(t, 1, dry.code, "refused rows fail the command: %s", dry.stderr)
	rows := csvRows(t, dry.out)
	require.Equal(t, []string{"line", "team", "user", "change", "products_now", "products_then", "error"}, rows[0])
	want := map[string]string{"ann": "unchanged", "bob": "replace", "cid": "unassign", "dee": "assign", "e.f": "invalid", "gus": "invalid", "": "invalid"}
	require.Equal(t, want, changes(rows))
	require.Equal(t, "6", rows[5][0], "refusals name the line")
	require.Contains(t, rows[5][6], "user_id")
	require.Contains(t, rows[6][6], "action")
	require.Contains(t, rows[7][6], "3 or 4 fields")
	require.Equal(t, "ACAD", rows[2][4], "what bob has now")
	require.Equal(t, want, changes(csvRows(t, ctl(t, env, "users", "import", file, "-o", "csv").out)), "a dry run changes nothing")

	applied := ctl(t, env, "users", "import", file, "--apply", "-o", "csv")
	require.Equal(t, 1, applied.code)
	rows = csvRows(t, applied.out)
	for _, r := range rows[1:5] {
		if r[3] != "unchanged" {
			require.Equal(t, "done", r[7], "row %s", r[0])
		}
	}
	again := changes(csvRows(t, ctl(t, env, "users", "import", file, "-o", "csv").out))
	require.Equal(t, map[string]string{"ann": "unchanged", "bob": "unchanged", "cid": "unchanged", "dee": "unchanged",
		"e.f": "invalid", "gus": "invalid", "": "invalid"}, again, "run again, nothing is left to change")
}
