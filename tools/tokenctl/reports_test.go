package tokenctl

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func testReportsAndExport(t *testing.T, s *stack) {
	env := s.env(t)
	out := ok(t, env, "demo", "load", "--teams", "rep-a,rep-b", "--users", "12", "--weeks", "26", "--seed", "7")
	require.Contains(t, out, "loaded ")

	// Wait until reporting has projected the history: its totals are then
	// the ledger's.
	var used int64
	for _, team := range []string{"rep-a", "rep-b"} {
		b, err := s.ledger.GetBalance(t.Context(), &v1.GetBalanceRequest{TeamId: team})
		require.NoError(t, err)
		used += b.GetBalance().GetUsed()
	}
	require.Positive(t, used)
	var summary v1.GetUsageSummaryResponse
	poll(t, env, func(out string) bool {
		protoOut(t, out, &summary)
		return summary.GetTokensUsed() == used
	}, "report", "summary", "--team", "rep-a,rep-b", "-o", "json")

	testReports(t, env, used)
	testExport(t, env)
}

func testReports(t *testing.T, env map[string]string, used int64) {
	scope := []string{"--team", "rep-a,rep-b"}
	run := func(args ...string) string { return ok(t, env, append(args, scope...)...) }

	rows := tableRows(t, run("report", "summary", "--range", "12m"))
	require.Equal(t, []string{"METRIC", "VALUE"}, rows[0])
	require.Contains(t, rows, []string{"tokens_used", itoa(used)})
	require.Equal(t, []string{"metric", "value"}, csvRows(t, run("report", "summary", "-o", "csv"))[0])

	days := csvRows(t, run("report", "by-day", "--range", "last-12-months", "-o", "csv"))
	require.Equal(t, []string{"day", "product", "tokens", "charges"}, days[0])
	var sum int64
	for _, d := range days[1:] {
		n, err := strconv.ParseInt(d[2], 10, 64)
		require.NoError(t, err)
		sum += n
	}
	require.Equal(t, used, sum, "by-day adds up to what the ledger charged")
	out := run("report", "by-day", "--from", time.Now().UTC().AddDate(0, 0, -200).Format(time.DateOnly))
	require.Regexp(t, `(?m)^`+itoa(used)+` tokens from \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d$`, out)

	var products v1.GetUsageByProductResponse
	protoOut(t, run("report", "by-product", "-o", "json"), &products)
	require.Equal(t, used, products.GetTotalTokens())
	require.NotEmpty(t, products.GetProducts())
	rows = tableRows(t, run("report", "by-product", "--limit", "2", "--sort", "tokens"))
	require.Equal(t, []string{"PRODUCT", "GROUP", "TOKENS", "USERS", "CHARGES", "AVG_PER_MONTH"}, rows[0])
	require.Len(t, rows, 3)
	require.Equal(t, "product", csvRows(t, run("report", "by-product", "--users", "--product", "REVIT", "-o", "csv"))[0][0])
	// The group drill-down: only the AutoCAD family, which the demo charges.
	group := csvRows(t, run("report", "by-product", "--group", "AutoCAD", "-o", "csv"))
	require.Greater(t, len(group), 1)
	for _, r := range group[1:] {
		require.Equal(t, "AutoCAD", r[1], r[0])
	}

	rows = tableRows(t, run("report", "by-user", "--limit", "3", "--range", "6m"))
	require.Equal(t, "USER", rows[0][0])
	require.Len(t, rows, 4)
	var users v1.GetUsageByUserResponse
	protoOut(t, run("report", "by-user", "-o", "json"), &users)
	require.EqualValues(t, 24, users.GetTotalUsers())
	all := csvRows(t, run("report", "by-user", "-o", "csv"))
	require.Len(t, all, 25)
	require.Contains(t, all[0], "days_since_last_use")
	require.Contains(t, all[0], "days_without_use")
	// Pages of 5 users walk to the same 24 users in the same order.
	paged := csvRows(t, run("report", "by-user", "--page-size", "5", "-o", "csv"))
	require.Equal(t, firstCells(all), firstCells(paged))
	protoOut(t, run("report", "by-user", "--page-size", "7", "--limit", "10", "-o", "json"), &users)
	require.Len(t, users.GetUsers(), 10)
	require.Equal(t, firstCells(all)[1:11], userIDs(users.GetUsers()))

	attrs := csvRows(t, run("report", "by-attribute", "project", "-o", "csv"))
	require.Equal(t, []string{"value", "tokens", "charges", "users"}, attrs[0])
	var values []string
	for _, r := range attrs[1:] {
		values = append(values, r[0])
	}
	require.ElementsMatch(t, []string{"P-100", "P-101", "P-102"}, values)
	var byAttr v1.GetUsageByAttributeResponse
	protoOut(t, run("report", "by-attribute", "project", "-o", "json"), &byAttr)
	require.Equal(t, used, byAttr.GetTotalTokens())

	rows = tableRows(t, ok(t, env, "report", "forecast", "rep-a"))
	require.Equal(t, []string{"MONTH", "USED", "CUMULATIVE", "PERCENT", "PROJECTED", "RUN_OUT_MONTH"}, rows[0])
	require.Len(t, rows, 13, "a 12-month term")
	var forecast v1.ForecastResponse
	protoOut(t, ok(t, env, "report", "forecast", "rep-a", "-o", "json"), &forecast)
	require.Positive(t, forecast.GetBurnRate_90Days())
	require.Equal(t, "month", csvRows(t, ok(t, env, "report", "forecast", "rep-a", "-o", "csv"))[0][0])

	advice := csvRows(t, ok(t, env, "report", "advice", "--team", "rep-a", "-o", "csv"))
	require.Equal(t, "team", advice[0][0])
	require.Greater(t, len(advice), 1)
	var adv v1.AdviseLicensingResponse
	protoOut(t, ok(t, env, "report", "advice", "--team", "rep-a", "-o", "json"), &adv)
	require.Len(t, adv.GetAdvice(), len(advice)-1)
}

func testExport(t *testing.T, env map[string]string) {
	dir := t.TempDir()
	args := func(file string, more ...string) []string {
		return append([]string{"export", filepath.Join(dir, file), "--team", "rep-a,rep-b", "--range", "12m"}, more...)
	}

	// Uninterrupted, with plain progress lines (stderr is no terminal).
	full := ctlWith(t, Options{ProgressEvery: time.Nanosecond}, env, args("full.csv")...)
	require.Equal(t, 0, full.code, full.stderr)
	require.Empty(t, full.out)
	require.Regexp(t, `(?m)^export: \d+/\d+ rows \(\d+ %\), \d+ rows/s, ETA \S+$`, full.stderr)
	require.Regexp(t, `(?m)^export: done, \d+ rows in `, full.stderr)
	want, err := os.ReadFile(filepath.Join(dir, "full.csv"))
	require.NoError(t, err)
	lines := strings.Count(string(want), "\n")
	require.Greater(t, len(want), 5*64<<10, "enough rows for several chunks")
	require.Contains(t, full.stderr, "wrote "+filepath.Join(dir, "full.csv")+": "+strconv.Itoa(lines-1)+" rows")

	// Interrupted after two chunks, as Ctrl-C does …
	part := filepath.Join(dir, "usage.csv.part")
	interrupt := func(after int64) result {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		return ctlCtx(ctx, Options{afterStep: func(n int64) {
			if n == after {
				cancel()
			}
		}}, env, args("usage.csv")...)
	}
	r := interrupt(2)
	require.Equal(t, 130, r.code, r.stderr)
	require.Contains(t, r.stderr, "tokenctl: interrupted: the export stopped with 131072 bytes in "+part+"; run the same command again to resume it")
	require.NoFileExists(t, filepath.Join(dir, "usage.csv"))
	fi, err := os.Stat(part)
	require.NoError(t, err)
	require.EqualValues(t, 2*64<<10, fi.Size())
	require.FileExists(t, part+".json")

	// … refused with other flags …
	r = ctl(t, env, "export", filepath.Join(dir, "usage.csv"), "--team", "rep-a", "--range", "12m")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, part+" holds an interrupted export of other flags (--kind usage --format csv --team rep-a,rep-b --range last-12-months)")

	// … interrupted again further on, then resumed to the end: the file is
	// the uninterrupted export, byte for byte.
	r = interrupt(4)
	require.Equal(t, 130, r.code, r.stderr)
	require.Contains(t, r.stderr, "resuming the export in "+part+" (131072 bytes written")
	r = ctl(t, env, args("usage.csv")...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "resuming the export in "+part+" (262144 bytes written")
	require.NotContains(t, r.stderr, "the data changed")
	got, err := os.ReadFile(filepath.Join(dir, "usage.csv"))
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.NoFileExists(t, part)
	require.NoFileExists(t, part+".json")

	// A .part whose bytes differ from the stream is rewritten from there on.
	require.NoError(t, os.WriteFile(part, append(append([]byte{}, want[:1000]...), []byte("garbage")...), 0o644))
	require.NoError(t, writeFileAtomic(part+".json", checkpointOf(mustRequest(t, "rep-a,rep-b", "12m"))))
	r = ctl(t, env, args("usage.csv")...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "the data changed since the interrupted run: rewrote "+filepath.Join(dir, "usage.csv")+" from byte 1000 on")
	got, err = os.ReadFile(filepath.Join(dir, "usage.csv"))
	require.NoError(t, err)
	require.Equal(t, want, got)

	// Packs and users, and stdout.
	packs := ok(t, env, "export", "-", "--kind", "packs", "--team", "rep-a", "--quiet")
	require.Len(t, csvRows(t, packs), 2, "header and rep-a's pack")
	r = ctl(t, env, "export", filepath.Join(dir, "users.xlsx"), "--kind", "users", "--team", "rep-a")
	require.Equal(t, 0, r.code, r.stderr)
	x, err := os.ReadFile(filepath.Join(dir, "users.xlsx"))
	require.NoError(t, err)
	require.Equal(t, "PK", string(x[:2]), "an XLSX is a zip")
}

func mustRequest(t *testing.T, teams, rng string) *v1.ExportRequest {
	t.Helper()
	req, err := exportRequest("usage.csv", "usage", "", &scope{teams: []string{teams}, rng: rng})
	require.NoError(t, err)
	return req
}

// firstCells is the first cell of every row.
func firstCells(rows [][]string) []string {
	out := make([]string, len(rows))
	for j, r := range rows {
		out[j] = r[0]
	}
	return out
}

func userIDs(users []*v1.UserUsage) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.GetUserId()
	}
	return out
}
