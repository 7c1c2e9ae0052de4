package rules

import (
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// usageTiers raises usage_tier when the used share of live tokens reaches a
// tier: once per tier, only the highest when one event crosses several. A
// tier re-arms when the used share falls below it again (tokens bought).
func usageTiers(f *fold) []*v1.Alert {
	cfg, t := f.cfg.UsageTiers, f.t
	if f.pool == nil || t.live <= 0 {
		return nil
	}
	used := percent(t.live-t.available, t.live)
	var crossed float64
	for _, tier := range cfg.Percents {
		if used < tier {
			delete(t.tiers, tier)
			continue
		}
		if !t.tiers[tier] && cfg.Enabled {
			crossed = tier
		}
		t.tiers[tier] = true
	}
	if crossed == 0 {
		return nil
	}
	sev := v1.Severity_SEVERITY_INFO
	if crossed >= 75 {
		sev = v1.Severity_SEVERITY_WARNING
	}
	msg := fmt.Sprintf("Team %s has used %s %% of its %d live tokens (tier %s %%); %d left",
		f.raise.team, formatFloat(used), t.live, formatFloat(crossed), t.available)
	return []*v1.Alert{f.alert(KindUsageTier, sev, msg, map[string]float64{
		"used_percent": used,
		"tier":         crossed,
		"available":    float64(t.available),
		"live":         float64(t.live),
	}, formatTier(crossed))}
}

// formatTier writes a tier as an id token ("75", "12_5").
func formatTier(p float64) string {
	s := formatFloat(p)
	out := []byte(s)
	for i, c := range out {
		if c == '.' {
			out[i] = '_'
		}
	}
	return string(out)
}
