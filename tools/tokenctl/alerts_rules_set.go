package tokenctl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) rulesSetCommand() *cobra.Command {
	var reset bool
	cmd := &cobra.Command{
		Use:   "set TEAM RULE.SETTING=VALUE...",
		Short: "Change a team's rule settings; the others stay as they are",
		Long: `Set a team's rule settings, each as rule.setting=value: a number, true or
false, or a comma-separated list for the list settings (usage_tiers.percents,
pack_expiry.days). "default" clears a setting: the default applies again.
Settings not named stay as the team had them; --reset clears them all first.

Settings: ` + strings.Join(ruleNames(), ", "),
		Example: `  tokenctl alerts rules set design low_balance.percent=15 pack_expiry.days=60,30,7
  tokenctl alerts rules set design usage_tiers.enabled=true multi_product.products_per_day=3
  tokenctl alerts rules set design spike.factor=default`,
		Args: cobra.MinimumNArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return a.teams(cmd, ""), cobra.ShellCompDirectiveNoFileComp
			}
			names := ruleNames()
			for i := range names {
				names[i] += "="
			}
			return names, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.alertingClient(cmd)
			if err != nil {
				return err
			}
			settings := &v1.AlertRules{}
			if !reset {
				cur, err := client.ListRules(cmd.Context(), &v1.ListRulesRequest{TeamIds: []string{args[0]}})
				if err != nil {
					return err
				}
				for _, tr := range cur.GetTeams() {
					if tr.GetTeamId() == args[0] && tr.GetSettings() != nil {
						settings = proto.Clone(tr.GetSettings()).(*v1.AlertRules)
					}
				}
			}
			for _, kv := range args[1:] {
				if err := setRule(settings.ProtoReflect(), kv); err != nil {
					return err
				}
			}
			resp, err := client.SetRules(cmd.Context(), &v1.SetRulesRequest{TeamId: args[0], Settings: settings})
			if err != nil {
				return err
			}
			t := newTable("TEAM", "SETTING", "VALUE", "SOURCE")
			own := map[string]bool{}
			for _, s := range ruleSettings(resp.GetTeam().GetSettings().ProtoReflect(), "") {
				own[s.path] = true
			}
			for _, s := range ruleSettings(resp.GetTeam().GetEffective().ProtoReflect(), "") {
				t.add(args[0], s.path, s.value, map[bool]string{false: "default", true: "team"}[own[s.path]])
			}
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().BoolVar(&reset, "reset", false, "clear the team's settings before applying these (default: keep them)")
	return cmd
}

// setRule applies one rule.setting=value to rules.
func setRule(rules protoreflect.Message, kv string) error {
	path, value, ok := strings.Cut(kv, "=")
	ruleName, settingName, ok2 := strings.Cut(strings.TrimSpace(path), ".")
	if !ok || !ok2 {
		return fmt.Errorf("invalid setting %q: write rule.setting=value, e.g. low_balance.percent=15", kv)
	}
	rd := rules.Descriptor().Fields().ByName(protoreflect.Name(ruleName))
	if rd == nil || rd.Kind() != protoreflect.MessageKind {
		return fmt.Errorf("invalid setting %q: there is no rule %q (settings: %s)", kv, ruleName, strings.Join(ruleNames(), ", "))
	}
	rule := rules.Mutable(rd).Message()
	fd := rule.Descriptor().Fields().ByName(protoreflect.Name(settingName))
	if fd == nil {
		return fmt.Errorf("invalid setting %q: rule %s has no setting %q (settings: %s)", kv, ruleName, settingName, strings.Join(ruleNames(), ", "))
	}
	value = strings.TrimSpace(value)
	if value == "default" {
		rule.Clear(fd)
		return nil
	}
	if fd.IsList() {
		l := rule.NewField(fd).List()
		for _, part := range strings.Split(value, ",") {
			v, err := scalar(fd.Kind(), strings.TrimSpace(part))
			if err != nil {
				return fmt.Errorf("invalid setting %q: %w", kv, err)
			}
			l.Append(v)
		}
		rule.Set(fd, protoreflect.ValueOfList(l))
		return nil
	}
	v, err := scalar(fd.Kind(), value)
	if err != nil {
		return fmt.Errorf("invalid setting %q: %w", kv, err)
	}
	rule.Set(fd, v)
	return nil
}

func scalar(k protoreflect.Kind, s string) (protoreflect.Value, error) {
	switch k {
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("want true or false, got %q", s)
		}
		return protoreflect.ValueOfBool(b), nil
	case protoreflect.Int32Kind:
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("want a whole number, got %q", s)
		}
		return protoreflect.ValueOfInt32(int32(n)), nil
	case protoreflect.Int64Kind:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("want a whole number, got %q", s)
		}
		return protoreflect.ValueOfInt64(n), nil
	case protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("want a number, got %q", s)
		}
		return protoreflect.ValueOfFloat64(f), nil
	}
	return protoreflect.Value{}, fmt.Errorf("cannot set a %s setting", k)
}
