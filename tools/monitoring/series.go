package monitoring

import (
	"fmt"
	"io"
	"slices"
	"sort"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Use is one series a query selects and the labels it matches or groups on.
type Use struct {
	Metric string
	Labels []string
}

// Uses parses expr and returns the series it selects. Every selector must
// name its series literally: a regular expression over __name__ would hide
// which series a dashboard needs.
func Uses(expr string) ([]Use, error) {
	root, err := promqlParser().ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var uses []Use
	var errs []error
	parser.Inspect(root, func(node parser.Node, path []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		u := Use{Metric: vs.Name}
		for _, m := range vs.LabelMatchers {
			switch {
			case m.Name != model.MetricNameLabel:
				u.Labels = append(u.Labels, m.Name)
			case m.Type == labels.MatchEqual:
				u.Metric = m.Value
			default:
				errs = append(errs, fmt.Errorf("selector %s: name the series, not a pattern", vs))
			}
		}
		u.Labels = append(u.Labels, groupingAbove(path)...)
		slices.Sort(u.Labels)
		u.Labels = slices.Compact(u.Labels)
		uses = append(uses, u)
		return nil
	})
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return uses, nil
}

// groupingAbove is the labels the aggregations and vector matchings above a
// selector group or match on: each must exist on the series below.
func groupingAbove(path []parser.Node) []string {
	var out []string
	for _, n := range path {
		switch e := n.(type) {
		case *parser.AggregateExpr:
			out = append(out, e.Grouping...)
		case *parser.BinaryExpr:
			if e.VectorMatching != nil {
				out = append(out, e.VectorMatching.MatchingLabels...)
				out = append(out, e.VectorMatching.Include...)
			}
		}
	}
	return out
}

// Exported is the series names of a Prometheus text exposition with the
// label names each carries: a histogram as its _bucket, _sum and _count.
type Exported map[string]map[string]bool

// ParseExposition reads a /metrics answer.
func ParseExposition(r io.Reader) (Exported, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	out := Exported{}
	for name, f := range families {
		suffixes := []string{""}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			suffixes = []string{"_bucket", "_sum", "_count"}
		case dto.MetricType_SUMMARY:
			suffixes = []string{"", "_sum", "_count"}
		}
		for _, s := range suffixes {
			set := out[name+s]
			if set == nil {
				set = map[string]bool{}
				out[name+s] = set
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					set[l.GetName()] = true
				}
			}
			// The parser keeps bucket bounds and quantiles apart from the labels.
			if s == "_bucket" {
				set["le"] = true
			} else if s == "" && f.GetType() == dto.MetricType_SUMMARY {
				set["quantile"] = true
			}
		}
	}
	return out, nil
}

// scrapeLabels are attached by Prometheus when it scrapes, and scrapeSeries
// are made by it: no service exports them.
var (
	scrapeLabels = map[string]bool{"job": true, "instance": true}
	scrapeSeries = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}
)

// Missing compares the uses with what is exported: series nobody exports
// (by name, sorted, each once) and labels a series lacks.
func (e Exported) Missing(uses []Use) (series []string, labelProblems []string) {
	seen := map[string]bool{}
	for _, u := range uses {
		if scrapeSeries[u.Metric] {
			continue
		}
		have, ok := e[u.Metric]
		if !ok {
			if !seen[u.Metric] {
				seen[u.Metric] = true
				series = append(series, u.Metric)
			}
			continue
		}
		for _, l := range u.Labels {
			if !have[l] && !scrapeLabels[l] {
				labelProblems = append(labelProblems, fmt.Sprintf("%s has no label %s", u.Metric, l))
			}
		}
	}
	sort.Strings(series)
	return series, slices.Compact(labelProblems)
}
