package deploycheck

import (
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/services/alerting"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
	"github.com/tokenmeter/tokenmeter/services/ledger"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// serviceConfigs register each service's flags, as its binary does.
var serviceConfigs = map[string]func() interface{ Register(*flag.FlagSet) }{
	"ledger":    func() interface{ Register(*flag.FlagSet) } { return &ledger.Config{} },
	"ingestion": func() interface{ Register(*flag.FlagSet) } { return &ingestion.Config{} },
	"reporting": func() interface{ Register(*flag.FlagSet) } { return &reporting.Config{} },
	"alerting":  func() interface{ Register(*flag.FlagSet) } { return &alerting.Config{} },
}

// flagEnv is the set of variables a service reads: one per flag.
func flagEnv(t *testing.T, service string) map[string]bool {
	t.Helper()
	cfg, ok := serviceConfigs[service]
	require.True(t, ok, "no service %s", service)
	fs := flag.NewFlagSet(service, flag.ContinueOnError)
	cfg().Register(fs)
	vars := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { vars[config.EnvName(f.Name)] = true })
	return vars
}

// TestEnvNamesAreFlags: a service ignores a variable none of its flags reads,
// so a misspelt or retired name would silently leave the default in force.
// Every TOKENMETER_ variable of a service's pod is one of its flags, every other
// one feeds a $(VAR) of the pod, and every key of the shared ConfigMap is a
// flag of a service that reads it.
func TestEnvNamesAreFlags(t *testing.T) {
	eachLayout(t, func(t *testing.T, _ layout, objs []object) {
		readers := map[string]bool{}
		shared := map[string]map[string]bool{} // ConfigMap key -> services having it as a flag
		for _, d := range deployments(t, objs) {
			flags := flagEnv(t, d.Name)
			c := d.Pod.Containers[0]
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, config.EnvPrefix+"_") {
					requireFlag(t, flags[e.Name], "%s sets %s, which is none of its flags", d.Name, e.Name)
					continue
				}
				used := false
				for _, other := range c.Env {
					used = used || strings.Contains(other.Value, "$("+e.Name+")")
				}
				require.True(t, used, "%s sets %s, which neither a flag nor another variable uses", d.Name, e.Name)
			}
			for _, from := range c.EnvFrom {
				if from.ConfigMapRef == nil || from.ConfigMapRef.Name != "tokenmeter-env" {
					continue
				}
				readers[d.Name] = true
				for key := range sharedEnv(t, objs) {
					if shared[key] == nil {
						shared[key] = map[string]bool{}
					}
					shared[key][d.Name] = flags[key]
				}
			}
		}
		require.Len(t, readers, 4, "every service reads ConfigMap tokenmeter-env")
		for key, services := range shared {
			read := false
			for _, has := range services {
				read = read || has
			}
			requireFlag(t, read, "ConfigMap tokenmeter-env sets %s, which no service reads", key)
		}
	})
}

func requireFlag(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	require.True(t, ok, append([]any{format}, args...)...)
}
