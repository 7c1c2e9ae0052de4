package tokenctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// exportCheckpoint is FILE.part.json: which export FILE.part holds. The
// .part file itself is the progress: always a prefix of the export's bytes.
type exportCheckpoint struct {
	Kind   string   `json:"kind"`
	Format string   `json:"format"`
	Teams  []string `json:"teams,omitempty"`
	// The range as the flags gave it …
	Preset string `json:"preset,omitempty"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	// … and the days it resolved to when the export began.
	FromDate string `json:"from_date,omitempty"`
	ToDate   string `json:"to_date,omitempty"`
}

func checkpointOf(req *v1.ExportRequest) exportCheckpoint {
	return exportCheckpoint{
		Kind: enumName(req.GetKind().String(), "EXPORT_KIND_"), Format: enumName(req.GetFormat().String(), "EXPORT_FORMAT_"),
		Teams: req.GetTeamIds(), Preset: enumName(req.GetRange().GetPreset().String(), "RANGE_PRESET_"),
		From: req.GetRange().GetFromDate(), To: req.GetRange().GetToDate(),
	}
}

func (c exportCheckpoint) sameExport(o exportCheckpoint) bool {
	return c.Kind == o.Kind && c.Format == o.Format && slices.Equal(c.Teams, o.Teams) && c.Preset == o.Preset && c.From == o.From && c.To == o.To
}

func (c exportCheckpoint) describe() string {
	parts := []string{"--kind " + c.Kind, "--format " + c.Format}
	if len(c.Teams) > 0 {
		parts = append(parts, "--team "+strings.Join(c.Teams, ","))
	}
	if c.Preset != "" {
		parts = append(parts, "--range "+c.Preset)
	}
	if c.From != "" {
		parts = append(parts, "--from "+c.From)
	}
	if c.To != "" {
		parts = append(parts, "--to "+c.To)
	}
	return strings.Join(parts, " ")
}

// partSink writes an export to FILE.part, checking the bytes an earlier run
// already wrote instead of writing them again.
type partSink struct {
	path, part, ckptPath string
	ckpt                 exportCheckpoint
	f                    *os.File
	// have is the size of FILE.part; pos is where the stream is.
	have, pos int64
	changed   bool
	changedAt int64
}

// openPart opens FILE.part for req: resumed when it holds the same export,
// refused when it holds another (unless restart), else new.
func openPart(path string, req *v1.ExportRequest, restart bool) (*partSink, error) {
	s := &partSink{path: path, part: path + ".part", ckptPath: path + ".part.json", ckpt: checkpointOf(req)}
	if restart {
		for _, p := range []string{s.part, s.ckptPath} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("discard the interrupted export: %w", err)
			}
		}
	}
	fi, err := os.Stat(s.part)
	switch {
	case err == nil && fi.Size() > 0:
		data, err := os.ReadFile(s.ckptPath)
		var old exportCheckpoint
		if err == nil {
			err = json.Unmarshal(data, &old)
		}
		if err != nil {
			return nil, fmt.Errorf("%s is an interrupted export but its checkpoint %s is missing or unreadable (%w): pass --restart to start over",
				s.part, s.ckptPath, err)
		}
		if !old.sameExport(s.ckpt) {
			return nil, fmt.Errorf("%s holds an interrupted export of other flags (%s): run the command with those flags to resume it, or pass --restart to discard it",
				s.part, old.describe())
		}
		s.ckpt = old
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	if s.f, err = os.OpenFile(s.part, os.O_RDWR|os.O_CREATE, 0o644); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if fi, err = s.f.Stat(); err != nil {
		return nil, err
	}
	s.have = fi.Size()
	return s, nil
}

// exportName reads the dates out of the export's file name, e.g.
// tokenmeter-usage-2026-03-01-2026-03-31.csv.
var exportName = regexp.MustCompile(`(\d{4}-\d\d-\d\d)-(\d{4}-\d\d-\d\d)\.[a-z]+$`)

// begin records the export and its resolved days before its first byte.
func (s *partSink) begin(first *v1.ExportResponse) error {
	if s.ckpt.FromDate == "" {
		if m := exportName.FindStringSubmatch(first.GetFileName()); m != nil {
			s.ckpt.FromDate, s.ckpt.ToDate = m[1], m[2]
		}
	}
	return writeFileAtomic(s.ckptPath, s.ckpt)
}

func (s *partSink) write(chunk []byte) error {
	if s.pos < s.have {
		n := min(int64(len(chunk)), s.have-s.pos)
		old := make([]byte, n)
		if _, err := s.f.ReadAt(old, s.pos); err != nil {
			return fmt.Errorf("read %s: %w", s.part, err)
		}
		same := commonPrefix(old, chunk[:n])
		if int64(same) < n {
			// The data changed: what follows is rewritten from here.
			if !s.changed {
				s.changed, s.changedAt = true, s.pos+int64(same)
			}
			if err := s.f.Truncate(s.pos + int64(same)); err != nil {
				return err
			}
			s.have = s.pos + int64(same)
			n = int64(same)
		}
		s.pos += n
		chunk = chunk[n:]
	}
	if len(chunk) == 0 {
		return nil
	}
	if _, err := s.f.WriteAt(chunk, s.pos); err != nil {
		return fmt.Errorf("write %s: %w", s.part, err)
	}
	s.pos += int64(len(chunk))
	s.have = max(s.have, s.pos)
	return nil
}

func (s *partSink) size() int64 { return max(s.have, s.pos) }

// commit makes FILE the complete export and drops the checkpoint.
func (s *partSink) commit() error {
	if s.pos < s.have {
		// The export is shorter than what was there: data went away.
		if !s.changed {
			s.changed, s.changedAt = true, s.pos
		}
		if err := s.f.Truncate(s.pos); err != nil {
			return err
		}
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", s.part, err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", s.part, err)
	}
	s.f = nil
	if err := os.Rename(s.part, s.path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return os.Remove(s.ckptPath)
}

func (s *partSink) close() {
	if s.f != nil {
		_ = s.f.Close()
	}
}

func commonPrefix(a, b []byte) int {
	if bytes.Equal(a, b) {
		return len(a)
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// writeFileAtomic writes v as JSON to path through a temporary file.
func writeFileAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
