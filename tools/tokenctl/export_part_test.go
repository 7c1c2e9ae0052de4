package tokenctl

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// export streams content into path in chunks of n bytes, as a run that
// is not interrupted.
func exportInto(t *testing.T, path string, req *v1.ExportRequest, content []byte, n int) *partSink {
	t.Helper()
	s, err := openPart(path, req, false)
	require.NoError(t, err)
	require.NoError(t, s.begin(&v1.ExportResponse{FileName: "tokenmeter-usage-2026-01-01-2026-01-31.csv"}))
	for len(content) > 0 {
		k := min(n, len(content))
		require.NoError(t, s.write(content[:k]))
		content = content[k:]
	}
	require.NoError(t, s.commit())
	return s
}

func TestPartSinkResumes(t *testing.T) {
	t.Parallel()
	req := mustRequest(t, "design", "3m")
	full := bytes.Repeat([]byte("2026-01-05,design,ann,REVIT,10\n"), 100)
	for _, tt := range []struct {
		name      string
		part      []byte // what an interrupted run left
		changed   bool
		changedAt int64
	}{
		{"nothing yet", nil, false, 0},
		{"a prefix", full[:1234], false, 0},
		{"all of it", full, false, 0},
		{"a prefix that differs", append(append([]byte{}, full[:700]...), "X,Y\n"...), true, 700},
		{"more than the export now has", append(append([]byte{}, full...), "2026-01-31,design,bob,ACAD,7\n"...), true, int64(len(full))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "usage.csv")
			if tt.part != nil {
				require.NoError(t, os.WriteFile(path+".part", tt.part, 0o644))
				require.NoError(t, writeFileAtomic(path+".part.json", checkpointOf(req)))
			}
			s := exportInto(t, path, req, full, 97)
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, full, got)
			require.Equal(t, tt.changed, s.changed)
			require.Equal(t, tt.changedAt, s.changedAt)
			require.NoFileExists(t, path+".part")
			require.NoFileExists(t, path+".part.json")
		})
	}
}

func TestPartSinkRefusesAnotherExport(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.csv")
	require.NoError(t, os.WriteFile(path+".part", []byte("day,team\n"), 0o644))
	_, err := openPart(path, mustRequest(t, "design", "3m"), false)
	require.ErrorContains(t, err, "its checkpoint "+path+".part.json is missing or unreadable")
	require.ErrorContains(t, err, "pass --restart")

	require.NoError(t, writeFileAtomic(path+".part.json", checkpointOf(mustRequest(t, "civil", "6m"))))
	_, err = openPart(path, mustRequest(t, "design", "3m"), false)
	require.ErrorContains(t, err, "holds an interrupted export of other flags (--kind usage --format csv --team civil --range last-6-months)")

	s, err := openPart(path, mustRequest(t, "design", "3m"), true)
	require.NoError(t, err, "--restart discards it")
	require.Zero(t, s.have)
	s.close()
}

func TestPartSinkPinsTheRange(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.csv")
	s, err := openPart(path, mustRequest(t, "design", "this-month"), false)
	require.NoError(t, err)
	require.NoError(t, s.begin(&v1.ExportResponse{FileName: "tokenmeter-usage-2026-03-01-2026-03-17.csv"}))
	require.NoError(t, s.write([]byte("day\n")))
	s.close()
	again, err := openPart(path, mustRequest(t, "design", "this-month"), false)
	require.NoError(t, err)
	defer again.close()
	require.Equal(t, "2026-03-01", again.ckpt.FromDate)
	require.Equal(t, "2026-03-17", again.ckpt.ToDate)
	require.EqualValues(t, 4, again.have)
}
