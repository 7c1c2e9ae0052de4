package tokenctl

import (
	"testing"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func TestSetRule(t *testing.T) {
	t.Parallel()
	r := &v1.AlertRules{}
	for _, kv := range []string{"low_balance.percent=15", "pack_expiry.days=60, 30,7", "usage_tiers.enabled=true", "spike.daily_limit_tokens=500",
		"forecast.within_days=14", "launch_denied.enabled=false"} {
		require.NoError(t, setRule(r.ProtoReflect(), kv), kv)
	}
	require.InDelta(t, 15, r.GetLowBalance().GetPercent(), 0)
	require.Equal(t, []int32{60, 30, 7}, r.GetPackExpiry().GetDays())
	require.True(t, r.GetUsageTiers().GetEnabled())
	require.EqualValues(t, 500, r.GetSpike().GetDailyLimitTokens())
	require.EqualValues(t, 14, r.GetForecast().GetWithinDays())
	require.NotNil(t, r.GetLaunchDenied().Enabled)
	require.False(t, r.GetLaunchDenied().GetEnabled())

	require.NoError(t, setRule(r.ProtoReflect(), "low_balance.percent=default"))
	require.Nil(t, r.GetLowBalance().Percent)

	settings := map[string]string{}
	for _, s := range ruleSettings(r.ProtoReflect(), "") {
		settings[s.path] = s.value
	}
	require.Equal(t, map[string]string{"pack_expiry.days": "60,30,7", "usage_tiers.enabled": "true", "spike.daily_limit_tokens": "500",
		"forecast.within_days": "14", "launch_denied.enabled": "false"}, settings)

	for kv, want := range map[string]string{
		"low_balance":               "write rule.setting=value",
		"low_balance.percent":       "write rule.setting=value",
		"lowbalance.percent=3":      `there is no rule "lowbalance"`,
		"low_balance.pct=3":         `rule low_balance has no setting "pct"`,
		"low_balance.percent=lots":  "want a number",
		"low_balance.enabled=maybe": "want true or false",
		"pack_expiry.days=7,x":      "want a whole number",
	} {
		require.ErrorContains(t, setRule((&v1.AlertRules{}).ProtoReflect(), kv), want, kv)
	}
	require.Contains(t, ruleNames(), "capacity.percent")
}

func TestEnums(t *testing.T) {
	t.Parallel()
	s, err := parseEnum[v1.PackSource]("--source", "True_Up", v1.PackSource_value, "PACK_SOURCE_")
	require.NoError(t, err)
	require.Equal(t, v1.PackSource_PACK_SOURCE_TRUE_UP, s)
	_, err = parseEnum[v1.PackSource]("--source", "unspecified", v1.PackSource_value, "PACK_SOURCE_")
	require.ErrorContains(t, err, `invalid --source "unspecified": want one of purchase, true-up, adjustment`)
	require.Equal(t, []string{"this-month", "last-3-months", "last-6-months", "last-9-months", "last-12-months"}, rangeNames())

	for in, want := range map[string]*v1.UsageRange{
		"":           {},
		"3m":         {Preset: v1.RangePreset_RANGE_PRESET_LAST_3_MONTHS},
		"12M":        {Preset: v1.RangePreset_RANGE_PRESET_LAST_12_MONTHS},
		"this-month": {Preset: v1.RangePreset_RANGE_PRESET_THIS_MONTH},
	} {
		got, err := (&scope{rng: in}).usageRange()
		require.NoError(t, err, in)
		require.Equal(t, want.GetPreset(), got.GetPreset(), in)
	}
	_, err = (&scope{to: "2026-01-01"}).usageRange()
	require.ErrorContains(t, err, "--to needs --from")
}
