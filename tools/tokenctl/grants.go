package tokenctl

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) grantsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "grants",
		Short: "Create, list and revoke console role grants (owner key)",
		Long: `A role grant lets the people the identity provider vouches for into the web
console with one role of the organisation: by their verified e-mail address
(--email), or by a value of the console's role claim, a group say (--claim).
Their ID token must also carry the organisation. The console honours a new
grant at the next sign-in; revoking one ends the sessions it opened within a
second. The console's grants file still applies (for the first owner).`,
	}
	cmd.AddCommand(a.grantsCreateCommand(), a.grantsListCommand(), a.grantsRevokeCommand())
	return cmd
}

func grantsTable(grants []*v1.RoleGrant) *table {
	t := newTable("GRANT_ID", "MATCH", "VALUE", "ROLE", "TEAM", "CREATED", "CREATED_BY", "REVOKED", "REVOKED_BY")
	for _, g := range grants {
		match := strings.ToLower(strings.TrimPrefix(g.GetClaim().String(), "GRANT_CLAIM_"))
		t.add(g.GetGrantId(), match, g.GetClaimValue(), g.GetRole(), g.GetRoleTeamId(), g.GetCreatedAt(), g.GetCreatedBy(),
			g.GetRevokedAt(), g.GetRevokedBy())
	}
	return t
}

func (a *app) grantsCreateCommand() *cobra.Command {
	var email, claim, team string
	cmd := &cobra.Command{
		Use:   "create ROLE (--email ADDRESS | --claim VALUE)",
		Short: "Grant a role (owner, admin, viewer, team-admin --team T) to an e-mail address or a role-claim value",
		Example: `  tokenctl access grants create viewer --email ann@example.com
  tokenctl access grants create team-admin --claim design-leads --team design`,
		Args:      exactArgs("ROLE"),
		ValidArgs: []string{"owner", "admin", "viewer", "team-admin"},
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &v1.CreateRoleGrantRequest{Role: args[0], RoleTeamId: team}
			req.Claim, req.ClaimValue = v1.GrantClaim_GRANT_CLAIM_ROLE, claim
			if email != "" {
				req.Claim, req.ClaimValue = v1.GrantClaim_GRANT_CLAIM_EMAIL, email
			}
			client, err := a.ingestionClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.CreateRoleGrant(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, grantsTable([]*v1.RoleGrant{resp.GetGrant()}))
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the person's e-mail address, as the identity provider verifies it")
	cmd.Flags().StringVar(&claim, "claim", "", "a value of the console's role claim (a group, say)")
	cmd.Flags().StringVar(&team, "team", "", "the team of a team-admin grant")
	cmd.MarkFlagsOneRequired("email", "claim")
	cmd.MarkFlagsMutuallyExclusive("email", "claim")
	completeFlag(cmd, "team", a.teams)
	return cmd
}

func (a *app) grantsListCommand() *cobra.Command {
	var revoked bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the organisation's console role grants",
		Example: "  tokenctl access grants list --revoked",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.ingestionClient(cmd)
			if err != nil {
				return err
			}
			grants, err := a.listGrants(cmd.Context(), client, revoked)
			if err != nil {
				return err
			}
			return a.emit(cmd, &v1.ListRoleGrantsResponse{Grants: grants}, grantsTable(grants))
		},
	}
	cmd.Flags().BoolVar(&revoked, "revoked", false, "include revoked grants")
	return cmd
}

func (a *app) grantsRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "revoke GRANT_ID",
		Short:   "Revoke a role grant: the console ends the sessions it opened",
		Example: "  tokenctl access grants revoke 3f2a9c81d0e4",
		Args:    exactArgs("GRANT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ingestionClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.RevokeRoleGrant(cmd.Context(), &v1.RevokeRoleGrantRequest{GrantId: args[0]})
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, grantsTable([]*v1.RoleGrant{resp.GetGrant()}))
		},
	}
}

// listGrants reads every page of ListRoleGrants.
func (a *app) listGrants(ctx context.Context, client v1.IngestionServiceClient, revoked bool) ([]*v1.RoleGrant, error) {
	return allPages(ctx, a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.RoleGrant, string, error) {
		resp, err := client.ListRoleGrants(ctx, &v1.ListRoleGrantsRequest{IncludeRevoked: revoked, PageSize: size, PageToken: token})
		return resp.GetGrants(), resp.GetNextPageToken(), err
	})
}
