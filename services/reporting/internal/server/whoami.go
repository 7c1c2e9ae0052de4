package server

import (
	"context"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// WhoAmI answers who the caller is, so a console shows only what it may do.
func (s *Server) WhoAmI(ctx context.Context, _ *v1.WhoAmIRequest) (*v1.WhoAmIResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return &v1.WhoAmIResponse{OrgId: p.Org, Role: string(p.Role), RoleTeamId: p.Team, KeyId: p.KeyID,
		TimeZone: s.zone(p.Org).String()}, nil
}
