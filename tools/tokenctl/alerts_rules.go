package tokenctl

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) rulesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List and set the alert rules of teams",
		Long: `Every alert kind has a rule with settings (low_balance.percent,
pack_expiry.days, spike.factor …). A team's own settings override the
defaults; what it leaves unset takes the default.`,
	}
	cmd.AddCommand(a.rulesListCommand(), a.rulesSetCommand())
	return cmd
}

func (a *app) rulesListCommand() *cobra.Command {
	var teams []string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the default rules and the effective rules of teams",
		Long: `List every rule setting: the defaults (team "*"), then for each team with
settings of its own (or each --team) its effective value and whether the team
set it.`,
		Example: "  tokenctl alerts rules list --team design\n  tokenctl alerts rules list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.alertingClient(cmd)
			if err != nil {
				return err
			}
			resp := &v1.ListRulesResponse{}
			req := &v1.ListRulesRequest{TeamIds: sortedSet(teams)}
			resp.Teams, err = allPages(cmd.Context(), a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.TeamRules, string, error) {
				req.PageSize, req.PageToken = size, token
				page, err := client.ListRules(ctx, req)
				resp.Defaults = page.GetDefaults()
				return page.GetTeams(), page.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			t := newTable("TEAM", "SETTING", "VALUE", "SOURCE")
			for _, s := range ruleSettings(resp.GetDefaults().ProtoReflect(), "") {
				t.add("*", s.path, s.value, "default")
			}
			for _, tr := range resp.GetTeams() {
				own := map[string]bool{}
				for _, s := range ruleSettings(tr.GetSettings().ProtoReflect(), "") {
					own[s.path] = true
				}
				for _, s := range ruleSettings(tr.GetEffective().ProtoReflect(), "") {
					t.add(tr.GetTeamId(), s.path, s.value, map[bool]string{false: "default", true: "team"}[own[s.path]])
				}
			}
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringSliceVar(&teams, "team", nil, "only these teams (repeat or comma-separate)")
	completeFlag(cmd, "team", a.teams)
	return cmd
}

type ruleSetting struct{ path, value string }

// ruleSettings flattens the set fields of rules into rule.setting = value.
func ruleSettings(m protoreflect.Message, prefix string) []ruleSetting {
	var out []ruleSetting
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		path := prefix + string(fd.Name())
		v := m.Get(fd)
		switch {
		case fd.Kind() == protoreflect.MessageKind && !fd.IsList():
			out = append(out, ruleSettings(v.Message(), path+".")...)
		case fd.IsList():
			l := v.List()
			parts := make([]string, l.Len())
			for j := range l.Len() {
				parts[j] = fmt.Sprint(l.Get(j).Interface())
			}
			out = append(out, ruleSetting{path, strings.Join(parts, ",")})
		default:
			out = append(out, ruleSetting{path, fmt.Sprint(v.Interface())})
		}
	}
	return out
}

// ruleNames are every settable rule.setting, for help and completion.
func ruleNames() []string {
	var out []string
	rules := (&v1.AlertRules{}).ProtoReflect().Descriptor().Fields()
	for i := range rules.Len() {
		r := rules.Get(i)
		settings := r.Message().Fields()
		for j := range settings.Len() {
			out = append(out, string(r.Name())+"."+string(settings.Get(j).Name()))
		}
	}
	return out
}
