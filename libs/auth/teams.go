package auth

import (
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// TeamFields lists a request's team fields: "team_id" and "team_ids" name
// the teams a call is about (empty: every team), other "…_team_id" fields a
// second team it touches (empty: none).
func TeamFields(md protoreflect.MessageDescriptor) (scope, other []protoreflect.FieldDescriptor) {
	fields := md.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() != protoreflect.StringKind || f.IsMap() {
			continue
		}
		switch name := string(f.Name()); {
		case name == "team_id" || name == "team_ids":
			scope = append(scope, f)
		case strings.HasSuffix(name, "_team_id") && !f.IsList():
			other = append(other, f)
		}
	}
	return scope, other
}

// checkTeamScope refuses a team-bound caller's request unless every team it
// names is the caller's and it names at least one (no team means all). A
// request with no fields at all asks about the caller and passes.
func checkTeamScope(req any, team string) error {
	m, ok := req.(proto.Message)
	if !ok {
		return status.Error(codes.PermissionDenied, "this call is not about one team")
	}
	msg := m.ProtoReflect()
	if msg.Descriptor().Fields().Len() == 0 {
		return nil // it names nothing: a question about the caller (WhoAmI)
	}
	scope, other := TeamFields(msg.Descriptor())
	if len(scope) == 0 {
		return status.Error(codes.PermissionDenied, "this call is not about one team")
	}
	for _, f := range scope {
		var teams []string
		if f.IsList() {
			l := msg.Get(f).List()
			for i := range l.Len() {
				teams = append(teams, l.Get(i).String())
			}
		} else if v := msg.Get(f).String(); v != "" {
			teams = append(teams, v)
		}
		if len(teams) == 0 {
			return status.Errorf(codes.PermissionDenied, "a team admin names its team (%s) in %s", team, f.Name())
		}
		for _, t := range teams {
			if t != team {
				return status.Errorf(codes.PermissionDenied, "a team admin of %s may not act for team %s", team, quote.Prefix(t))
			}
		}
	}
	for _, f := range other {
		if v := msg.Get(f).String(); v != "" && v != team {
			return status.Errorf(codes.PermissionDenied, "a team admin of %s may not act for team %s (%s)", team, quote.Prefix(v), f.Name())
		}
	}
	return nil
}
