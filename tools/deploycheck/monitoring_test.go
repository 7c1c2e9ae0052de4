package deploycheck

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tokenmeter/tokenmeter/tools/monitoring"
)

var (
	dashboardsDir = filepath.Join(repoRoot, "deploy/grafana/dashboards")
	rulesDir      = filepath.Join(repoRoot, "deploy/prometheus/rules")
)

// TestAlertRulesLoad: the rules load as Prometheus loads them (rulefmt, every
// expression and template parsed), and each alert says how bad it is and what
// to do, after a pause that rides out a blip.
func TestAlertRulesLoad(t *testing.T) {
	files, err := monitoring.Rules(rulesDir)
	require.NoError(t, err)
	alerts := 0
	for _, f := range files {
		for _, g := range f.Groups.Groups {
			for _, r := range g.Rules {
				require.NotEmpty(t, r.Alert, "%s: recording rules belong elsewhere", g.Name)
				alerts++
				require.Contains(t, []string{"critical", "warning"}, r.Labels["severity"], "%s: severity", r.Alert)
				require.NotEmpty(t, r.Annotations["summary"], "%s: summary", r.Alert)
				require.NotEmpty(t, r.Annotations["description"], "%s: description", r.Alert)
				require.GreaterOrEqual(t, time.Duration(r.For), time.Minute, "%s: for", r.Alert)
				uses, err := monitoring.Uses(r.Expr)
				require.NoError(t, err, r.Alert)
				require.NotEmpty(t, uses, "%s selects no series", r.Alert)
			}
		}
	}
	require.GreaterOrEqual(t, alerts, 6)
}

// TestDashboardsParse: every query of every dashboard is PromQL that names
// its series, and dashboard uids are unique (Grafana keeps one per uid).
func TestDashboardsParse(t *testing.T) {
	queries, err := monitoring.DashboardQueries(dashboardsDir)
	require.NoError(t, err)
	require.NotEmpty(t, queries)
	for _, q := range queries {
		uses, err := monitoring.Uses(q.Expr)
		require.NoError(t, err, "%s: %s", q.Source, q.Expr)
		require.NotEmpty(t, uses, "%s selects no series", q.Source)
	}
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	require.NoError(t, err)
	uids := map[string]string{}
	for _, f := range files {
		var d struct {
			UID string `json:"uid"`
		}
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, yaml.Unmarshal(raw, &d), f) // JSON is YAML
		require.NotEmpty(t, d.UID, f)
		require.NotContains(t, uids, d.UID, "%s and %s share a uid", f, uids[d.UID])
		uids[d.UID] = f
	}
}

// composeMounts maps a compose service's container paths to repository paths.
func composeMounts(t *testing.T, service string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	require.NoError(t, err)
	var f struct {
		Services map[string]struct {
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &f))
	out := map[string]string{}
	for _, v := range f.Services[service].Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && strings.HasPrefix(parts[0], "./") {
			out[parts[1]] = filepath.Join(repoRoot, parts[0])
		}
	}
	return out
}

// hostPath translates a container path through the mounts ("" if unmounted).
func hostPath(mounts map[string]string, p string) string {
	for container, host := range mounts {
		if p == container {
			return host
		}
		if rest, ok := strings.CutPrefix(p, container+"/"); ok {
			return filepath.Join(host, rest)
		}
	}
	return ""
}

// TestComposeMonitoringWiring: compose's Prometheus reads the repository's
// config, which loads the rules files, and Grafana's provisioning points at
// the mounted dashboards.
func TestComposeMonitoringWiring(t *testing.T) {
	prom := composeMounts(t, "prometheus")
	cfgPath := hostPath(prom, "/etc/prometheus/prometheus.yml")
	require.NotEmpty(t, cfgPath, "compose does not mount a prometheus.yml")
	raw, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	var cfg struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &cfg))
	loaded := 0
	for _, pattern := range cfg.RuleFiles {
		host := hostPath(prom, pattern)
		require.NotEmpty(t, host, "rule_files %s is not mounted", pattern)
		matches, err := filepath.Glob(host)
		require.NoError(t, err)
		loaded += len(matches)
	}
	rules, err := filepath.Glob(filepath.Join(rulesDir, "*.yml"))
	require.NoError(t, err)
	require.Equal(t, len(rules), loaded, "Prometheus loads every rules file of deploy/prometheus/rules")

	grafana := composeMounts(t, "grafana")
	provisioning := hostPath(grafana, "/etc/grafana/provisioning/dashboards")
	require.NotEmpty(t, provisioning)
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	raw, err = os.ReadFile(filepath.Join(provisioning, "tokenmeter.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, &prov))
	require.Len(t, prov.Providers, 1)
	dir := hostPath(grafana, path.Clean(prov.Providers[0].Options.Path))
	require.Equal(t, filepath.Clean(dashboardsDir), filepath.Clean(dir), "Grafana provisions deploy/grafana/dashboards")
}
