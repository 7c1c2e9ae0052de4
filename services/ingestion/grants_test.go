package ingestion_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
)

// An owner creates, lists and revokes role grants through either door; an
// admin may not; each change names its actor; bad requests name the field.
func TestRoleGrantsByOwnersOnly(t *testing.T) {
	t.Parallel()
	e := start(t, "", func(c *ingestion.Config) { c.APIKeys += ",owner-secret:acme:owner,globex-owner:globex:owner" })
	ctx := t.Context()
	email, role := v1.GrantClaim_GRANT_CLAIM_EMAIL, v1.GrantClaim_GRANT_CLAIM_ROLE
	for name, d := range doors(t, e) {
		t.Run(name, func(t *testing.T) {
			made := &v1.CreateRoleGrantResponse{}
			require.NoError(t, d.call(ctx, "owner-secret", "CreateRoleGrant", &v1.CreateRoleGrantRequest{
				Claim: email, ClaimValue: "Ann." + name + "@Acme.example", Role: "admin"}, made))
			g := made.GetGrant()
			require.Len(t, g.GetGrantId(), 12)
			require.Equal(t, "ann."+name+"@acme.example", g.GetClaimValue(), "e-mail addresses are kept in lower case")
			require.Equal(t, "acme", g.GetOrgId())
			require.NotEmpty(t, g.GetCreatedBy(), "the actor is recorded")
			require.NotNil(t, g.GetCreatedAt())

			err := d.call(ctx, "owner-secret", "CreateRoleGrant", &v1.CreateRoleGrantRequest{
				Claim: email, ClaimValue: "ann." + name + "@acme.example", Role: "admin"}, &v1.CreateRoleGrantResponse{})
			require.Equal(t, codes.AlreadyExists, status.Code(err), "the same live grant twice")
			team := &v1.CreateRoleGrantResponse{}
			require.NoError(t, d.call(ctx, "owner-secret", "CreateRoleGrant", &v1.CreateRoleGrantRequest{
				Claim: role, ClaimValue: "design-leads-" + name, Role: "team-admin", RoleTeamId: "design"}, team))

			err = d.call(ctx, "admin-secret", "CreateRoleGrant", &v1.CreateRoleGrantRequest{Claim: email, ClaimValue: "x@acme.example", Role: "owner"}, &v1.CreateRoleGrantResponse{})
			require.Equal(t, codes.PermissionDenied, status.Code(err), "an admin cannot grant roles")
			err = d.call(ctx, "admin-secret", "ListRoleGrants", &v1.ListRoleGrantsRequest{}, &v1.ListRoleGrantsResponse{})
			require.Equal(t, codes.PermissionDenied, status.Code(err))
			err = d.call(ctx, "globex-owner", "RevokeRoleGrant", &v1.RevokeRoleGrantRequest{GrantId: g.GetGrantId()}, &v1.RevokeRoleGrantResponse{})
			require.Equal(t, codes.NotFound, status.Code(err), "another organisation's owner")

			revoked := &v1.RevokeRoleGrantResponse{}
			require.NoError(t, d.call(ctx, "owner-secret", "RevokeRoleGrant", &v1.RevokeRoleGrantRequest{GrantId: g.GetGrantId()}, revoked))
			require.NotNil(t, revoked.GetGrant().GetRevokedAt())
			require.Equal(t, g.GetCreatedBy(), revoked.GetGrant().GetRevokedBy())

			listed := &v1.ListRoleGrantsResponse{}
			require.NoError(t, d.call(ctx, "owner-secret", "ListRoleGrants", &v1.ListRoleGrantsRequest{}, listed))
			require.NotContains(t, grantIDs(listed), g.GetGrantId(), "revoked grants are listed on request only")
			require.Contains(t, grantIDs(listed), team.GetGrant().GetGrantId())
			listed = &v1.ListRoleGrantsResponse{}
			require.NoError(t, d.call(ctx, "owner-secret", "ListRoleGrants", &v1.ListRoleGrantsRequest{IncludeRevoked: true}, listed))
			require.Contains(t, grantIDs(listed), g.GetGrantId())
			listed = &v1.ListRoleGrantsResponse{}
			require.NoError(t, d.call(ctx, "globex-owner", "ListRoleGrants", &v1.ListRoleGrantsRequest{IncludeRevoked: true}, listed))
			require.Empty(t, listed.GetGrants(), "another organisation's grants are not listed")
		})
	}
}

func grantIDs(r *v1.ListRoleGrantsResponse) []string {
	var ids []string
	for _, g := range r.GetGrants() {
		ids = append(ids, g.GetGrantId())
	}
	return ids
}

// Each bad part of a grant request is refused naming its field.
func TestRoleGrantBounds(t *testing.T) {
	t.Parallel()
	e := start(t, "", func(c *ingestion.Config) { c.APIKeys += ",owner-secret:acme:owner" })
	d := doors(t, e)["grpc"]
	email := v1.GrantClaim_GRANT_CLAIM_EMAIL
	for _, tt := range []struct {
		req   *v1.CreateRoleGrantRequest
		field string
	}{
		{&v1.CreateRoleGrantRequest{ClaimValue: "a@b.example", Role: "viewer"}, "claim"},
		{&v1.CreateRoleGrantRequest{Claim: 9, ClaimValue: "a@b.example", Role: "viewer"}, "claim"},
		{&v1.CreateRoleGrantRequest{Claim: email, ClaimValue: strings.Repeat("a", 250) + "@b.example", Role: "viewer"}, "claim_value"},
		{&v1.CreateRoleGrantRequest{Claim: email, ClaimValue: "not-an-address", Role: "viewer"}, "claim_value"},
		{&v1.CreateRoleGrantRequest{Claim: v1.GrantClaim_GRANT_CLAIM_ROLE, ClaimValue: "two words", Role: "viewer"}, "claim_value"},
		{&v1.CreateRoleGrantRequest{Claim: email, Role: "viewer"}, "claim_value"},
		{&v1.CreateRoleGrantRequest{Claim: email, ClaimValue: "a@b.example", Role: "service"}, "role"},
		{&v1.CreateRoleGrantRequest{Claim: email, ClaimValue: "a@b.example", Role: "team-admin"}, "role_team_id"},
		{&v1.CreateRoleGrantRequest{Claim: email, ClaimValue: "a@b.example", Role: "viewer", RoleTeamId: "design"}, "role_team_id"},
	} {
		err := d.call(t.Context(), "owner-secret", "CreateRoleGrant", tt.req, &v1.CreateRoleGrantResponse{})
		require.Equal(t, []string{tt.field}, badFields(t, err), "%v", tt.req)
	}
	err := d.call(t.Context(), "owner-secret", "RevokeRoleGrant", &v1.RevokeRoleGrantRequest{GrantId: "nope"}, &v1.RevokeRoleGrantResponse{})
	require.Equal(t, []string{"grant_id"}, badFields(t, err))
	err = d.call(t.Context(), "owner-secret", "ListRoleGrants", &v1.ListRoleGrantsRequest{PageSize: -1}, &v1.ListRoleGrantsResponse{})
	require.Equal(t, []string{"page_size"}, badFields(t, err))
}
