package testkit

import (
	"io"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is one scrape of a Prometheus /metrics endpoint, by family name.
type Metrics map[string]*dto.MetricFamily

// Scrape reads http://addr/metrics as Prometheus does and parses it.
func Scrape(t testing.TB, addr string) Metrics {
	t.Helper()
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("testkit: scrape %s: %v", addr, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.Fatalf("testkit: scrape %s: %s: %s", addr, resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("testkit: scrape %s: %v", addr, err)
	}
	return fams
}

// Has reports whether the scrape holds a family of that name.
func (m Metrics) Has(name string) bool {
	_, ok := m[name]
	return ok
}

// Value sums the samples of series name whose labels include the given
// name, value pairs (other labels, service_name among them, may be there
// too): a counter's, a gauge's or an untyped value; for a histogram family
// name+"_count" and name+"_sum" read its count and sum. 0 when none matches.
func (m Metrics) Value(name string, labels ...string) float64 {
	fam, field := m[name], ""
	if fam == nil {
		for _, suffix := range []string{"_count", "_sum"} {
			if f := m[trimSuffix(name, suffix)]; f != nil && f.GetType() == dto.MetricType_HISTOGRAM {
				fam, field = f, suffix
			}
		}
	}
	if fam == nil {
		return 0
	}
	sum := 0.0
	for _, s := range fam.GetMetric() {
		if !hasLabels(s, labels) {
			continue
		}
		switch {
		case field == "_count":
			sum += float64(s.GetHistogram().GetSampleCount())
		case field == "_sum":
			sum += s.GetHistogram().GetSampleSum()
		case s.Counter != nil:
			sum += s.GetCounter().GetValue()
		case s.Gauge != nil:
			sum += s.GetGauge().GetValue()
		case s.Untyped != nil:
			sum += s.GetUntyped().GetValue()
		}
	}
	return sum
}

func trimSuffix(s, suffix string) string {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)]
	}
	return ""
}

// hasLabels reports whether s carries every name, value pair of labels; as
// in Prometheus, an empty value matches a missing label.
func hasLabels(s *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := labels[i+1] == ""
		for _, l := range s.GetLabel() {
			if l.GetName() == labels[i] {
				found = l.GetValue() == labels[i+1]
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
