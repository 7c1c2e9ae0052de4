// Package monitoring reads the Grafana dashboards and Prometheus rules of
// deploy/ and tells which series and labels their PromQL uses, with
// Prometheus' own parsers, so tests can hold them to what the services export.
package monitoring

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Query is one PromQL expression and where it was found.
type Query struct {
	Source string // file and panel, variable or alert
	Expr   string
}

// grafanaIntervals are Grafana's built-in range variables; a range is all
// the parser needs in their place.
var grafanaIntervals = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)(:[a-z]+)?\}?`)

// labelValues is Grafana's label_values(selector, label) variable query.
var labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

// promqlParser is the parser Prometheus itself uses for queries and rules.
func promqlParser() parser.Parser { return parser.NewParser(parser.Options{}) }

// Dashboard is the part of a Grafana dashboard that holds queries.
type dashboard struct {
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // a collapsed row's panels
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// DashboardQueries returns every PromQL expression of the dashboards (*.json)
// in dir: panel targets and query variables, Grafana's range variables
// replaced by a range, label_values unwrapped to its selector.
func DashboardQueries(dir string) ([]Query, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no dashboards in %s (%w)", dir, err)
	}
	var out []Query
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var d dashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, panelQueries(filepath.Base(f), d.Panels)...)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			if q := variableQuery(v.Query); q != "" {
				out = append(out, Query{Source: filepath.Base(f) + ": variable " + v.Name, Expr: q})
			}
		}
	}
	return out, nil
}

func panelQueries(file string, panels []panel) []Query {
	var out []Query
	for _, p := range panels {
		out = append(out, panelQueries(file, p.Panels)...)
		for _, t := range p.Targets {
			if strings.TrimSpace(t.Expr) == "" {
				continue
			}
			out = append(out, Query{Source: file + ": panel " + p.Title, Expr: grafanaIntervals.ReplaceAllString(t.Expr, "5m")})
		}
	}
	return out
}

// variableQuery is the selector of a label_values(selector, label) query (a
// string or {"query": ...}); "" for label_values(label), which names no series.
func variableQuery(raw json.RawMessage) string {
	var q string
	if json.Unmarshal(raw, &q) != nil {
		var obj struct {
			Query string `json:"query"`
		}
		_ = json.Unmarshal(raw, &obj)
		q = obj.Query
	}
	if m := labelValues.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	if strings.HasPrefix(strings.TrimSpace(q), "label_values(") {
		return ""
	}
	return q
}

// RuleFile is a parsed rules file.
type RuleFile struct {
	Path   string
	Groups *rulefmt.RuleGroups
}

// Rules parses every rules file (*.yml) in dir with rulefmt, as Prometheus
// does at load: unknown fields, bad expressions and templates are errors.
func Rules(dir string) ([]RuleFile, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no rules files in %s (%w)", dir, err)
	}
	var out []RuleFile
	for _, f := range files {
		groups, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, promqlParser(), slog.Default())
		if len(errs) > 0 {
			return nil, fmt.Errorf("%s: %v", f, errs)
		}
		out = append(out, RuleFile{Path: f, Groups: groups})
	}
	return out, nil
}

// RuleQueries returns every rule's expression.
func RuleQueries(files []RuleFile) []Query {
	var out []Query
	for _, f := range files {
		for _, g := range f.Groups.Groups {
			for _, r := range g.Rules {
				name := r.Alert + r.Record
				out = append(out, Query{Source: filepath.Base(f.Path) + ": " + g.Name + "/" + name, Expr: r.Expr})
			}
		}
	}
	return out
}
