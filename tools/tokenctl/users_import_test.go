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

// testImportGroups: a groups column shows in the dry run which of the
// team's groups each user would join, refuses a group the team lacks and
// groups on an unassign row, joins them with --apply, and run again finds
// nothing to join and records no further membership change.
func testImportGroups(t *testing.T, s *stack) {
	env := s.env(t)
	ok(t, env, "groups", "create", "imp-g", "reviewers", "--name", "Reviewers")
	ok(t, env, "groups", "create", "imp-g", "checkers", "--name", "Checkers")
	ok(t, env, "groups", "add", "imp-g", "checkers", "ann")
	file := filepath.Join(t.TempDir(), "staff.csv")
	require.NoError(t, os.WriteFile(file, []byte(`team,user,products,groups,action
imp-g,ann,REVIT,reviewers;checkers
imp-g,bob,REVIT,
imp-g,cid,REVIT,nosuch
imp-g,dee,REVIT, checkers ; reviewers ;,assign
imp-g,eve,,checkers,unassign
`), 0o600))
	plan := func(args ...string) (map[string][]string, result) {
		r := ctl(t, env, append([]string{"users", "import", file, "-o", "csv"}, args...)...)
		rows := csvRows(t, r.out)
		require.Equal(t, []string{"line", "team", "user", "change", "products_now", "products_then", "join_groups", "error"}, rows[0][:8])
		out := map[string][]string{}
		for _, row := range rows[1:] {
			out[row[2]] = row[3:]
		}
		return out, r
	}
	dry, r := plan()
	require.Equal(t, 1, r.code, "refused rows fail the command: %s", r.stderr)
	require.Equal(t, []string{"assign", "", "REVIT", "reviewers", ""}, dry["ann"], "ann is in checkers already")
	require.Equal(t, []string{"assign", "", "REVIT", "", ""}, dry["bob"])
	require.Equal(t, "invalid", dry["cid"][0])
	require.Contains(t, dry["cid"][4], `group_ids: the team has no group "nosuch"`)
	require.Equal(t, "checkers;reviewers", dry["dee"][3])
	require.Contains(t, dry["eve"][4], "group_ids: an unassign row joins no group")
	members := func() map[string]string {
		out := map[string]string{}
		for _, row := range csvRows(t, ok(t, env, "groups", "list", "imp-g", "-o", "csv"))[1:] {
			out[row[1]] = row[4]
		}
		return out
	}
	require.Equal(t, map[string]string{"checkers": "ann", "reviewers": ""}, members(), "a dry run joins no one")

	applied, r := plan("--apply")
	require.Equal(t, 1, r.code)
	for _, u := range []string{"ann", "bob", "dee"} {
		require.Equal(t, "done", applied[u][5], "%s: %v", u, applied[u])
	}
	require.Equal(t, map[string]string{"checkers": "ann,dee", "reviewers": "ann,dee"}, members())
	changes := func() int {
		return len(csvRows(t, ok(t, env, "transactions", "imp-g", "--type", "user_group_members_changed", "-o", "csv"))) - 1
	}
	require.Equal(t, 4, changes(), "ann added to checkers by hand, then three joins")

	again, r := plan("--apply")
	require.Equal(t, 1, r.code)
	for _, u := range []string{"ann", "bob", "dee"} {
		require.Equal(t, []string{"unchanged", "REVIT", "REVIT", "", "", ""}, again[u], u)
	}
	require.Equal(t, 4, changes(), "run again, it records nothing")
}
