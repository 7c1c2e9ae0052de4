package keys

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/keystore"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	"github.com/tokenmeter/tokenmeter/libs/rolegrant"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// CreateRoleGrant lets the people whose ID token carries a claim value into
// the console with one role of the owner's organisation.
func (a *Admin) CreateRoleGrant(ctx context.Context, req *v1.CreateRoleGrantRequest) (*v1.CreateRoleGrantResponse, error) {
	p, err := owner(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	if _, ok := v1.GrantClaim_name[int32(req.GetClaim())]; !ok || req.GetClaim() == v1.GrantClaim_GRANT_CLAIM_UNSPECIFIED {
		bad.Add("claim", "must be GRANT_CLAIM_EMAIL or GRANT_CLAIM_ROLE")
	} else if why := rolegrant.CheckValue(req.GetClaim(), req.GetClaimValue()); why != "" {
		bad.Add("claim_value", "%s", why)
	}
	if _, err := auth.ParseRole(req.GetRole(), req.GetRoleTeamId()); err != nil {
		field := "role"
		if slices.Contains(auth.PeopleRoles, auth.Role(req.GetRole())) {
			field = "role_team_id"
		}
		bad.Add(field, "%v", err)
	} else if req.GetRole() != string(auth.RoleTeamAdmin) && req.GetRoleTeamId() != "" {
		bad.Add("role_team_id", "only a team-admin grant names a team")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	g, err := a.Grants.Create(ctx, &v1.RoleGrant{OrgId: p.Org, Claim: req.GetClaim(), ClaimValue: req.GetClaimValue(),
		Role: req.GetRole(), RoleTeamId: req.GetRoleTeamId(), CreatedBy: p.KeyID}, a.Now())
	switch {
	case errors.Is(err, rolegrant.ErrExists):
		return nil, status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, rolegrant.ErrTooMany):
		return nil, status.Error(codes.FailedPrecondition, err.Error()+": revoke one first")
	case err != nil:
		return nil, unavailable(err)
	}
	return &v1.CreateRoleGrantResponse{Grant: g}, nil
}

// RevokeRoleGrant revokes a grant of the owner's organisation; the console
// ends the sessions it let in.
func (a *Admin) RevokeRoleGrant(ctx context.Context, req *v1.RevokeRoleGrantRequest) (*v1.RevokeRoleGrantResponse, error) {
	p, err := owner(ctx)
	if err != nil {
		return nil, err
	}
	if !keystore.ValidKeyID(req.GetGrantId()) {
		var bad grpcserver.Violations
		bad.Add("grant_id", "must be a grant id as listed: 12 lowercase hex digits")
		return nil, bad.Err()
	}
	g, err := a.Grants.Revoke(ctx, p.Org, req.GetGrantId(), p.KeyID, a.Now())
	if errors.Is(err, rolegrant.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "no role grant %s in this organisation", quote.Prefix(req.GetGrantId()))
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return &v1.RevokeRoleGrantResponse{Grant: g}, nil
}

// ListRoleGrants lists the organisation's grants, oldest first, a page at a time.
func (a *Admin) ListRoleGrants(ctx context.Context, req *v1.ListRoleGrantsRequest) (*v1.ListRoleGrantsResponse, error) {
	p, err := owner(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	page := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(),
		"ListRoleGrants", p.Org, strconv.FormatBool(req.GetIncludeRevoked()))
	if err := bad.Err(); err != nil {
		return nil, err
	}
	grants, err := a.Grants.List(ctx, p.Org)
	if err != nil {
		return nil, unavailable(err)
	}
	grants = slices.DeleteFunc(grants, func(g *v1.RoleGrant) bool { return g.GetRevokedAt() != nil && !req.GetIncludeRevoked() })
	slices.SortFunc(grants, func(a, b *v1.RoleGrant) int { return strings.Compare(grantPageKey(a), grantPageKey(b)) })
	grants, next := grpcserver.PageSlice(page, grants, grantPageKey)
	return &v1.ListRoleGrantsResponse{Grants: grants, NextPageToken: next}, nil
}

// grantPageKey orders grants by creation, then id, as pageKey orders keys.
func grantPageKey(g *v1.RoleGrant) string {
	return g.GetCreatedAt().AsTime().UTC().Format("20060102T150405.000000000") + "." + g.GetGrantId()
}
