package tokenctl

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) accessCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "access",
		Short: "Create, list and revoke people's access keys (owner key)",
		Long: `An access key grants one role of the organisation to whoever holds its secret:
owner (everything, access keys included), admin (packs, users, rules, webhooks),
viewer (reads only) or team-admin (one team's packs, users and reports). Its
secret is shown once; tokenmeter keeps only its SHA-256. Every service accepts a
new key, and refuses a revoked one, within a second. "access grants" gives
people who sign into the console through single sign-on their roles.`,
	}
	cmd.AddCommand(a.accessCreateCommand(), a.accessListCommand(), a.accessRevokeCommand(), a.grantsCommand())
	return cmd
}

func accessTable(keys []*v1.AccessKey) *table {
	t := newTable("KEY_ID", "ROLE", "TEAM", "LABEL", "CREATED", "CREATED_BY", "REVOKED")
	for _, k := range keys {
		t.add(k.GetKeyId(), k.GetRole(), k.GetRoleTeamId(), k.GetLabel(), k.GetCreatedAt(), k.GetCreatedBy(), k.GetRevokedAt())
	}
	return t
}

func (a *app) accessCreateCommand() *cobra.Command {
	var label, team string
	cmd := &cobra.Command{
		Use:   "create ROLE",
		Short: "Make an access key with a role (owner, admin, viewer, team-admin --team T); its secret is printed once",
		Example: `  tokenctl access create viewer --label "finance auditor"
  tokenctl access create team-admin --team design`,
		Args:      exactArgs("ROLE"),
		ValidArgs: []string{"owner", "admin", "viewer", "team-admin"},
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ingestionClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.CreateAccessKey(cmd.Context(), &v1.CreateAccessKeyRequest{Role: args[0], RoleTeamId: team, Label: label})
			if err != nil {
				return err
			}
			k := resp.GetKey()
			t := newTable("KEY_ID", "ROLE", "TEAM", "LABEL", "SECRET")
			t.add(k.GetKeyId(), k.GetRole(), k.GetRoleTeamId(), k.GetLabel(), resp.GetSecret())
			if a.settings.Output == outputTable {
				fmt.Fprintln(cmd.ErrOrStderr(), "tokenctl: the secret is shown this once: hand it over now")
			}
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringVar(&label, "label", "", "who or what holds the key")
	cmd.Flags().StringVar(&team, "team", "", "the team of a team-admin key")
	completeFlag(cmd, "team", a.teams)
	return cmd
}

func (a *app) accessListCommand() *cobra.Command {
	var revoked bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the organisation's access keys (never their secrets)",
		Example: "  tokenctl access list --revoked",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.ingestionClient(cmd)
			if err != nil {
				return err
			}
			keys, err := a.listAccess(cmd.Context(), client, revoked)
			if err != nil {
				return err
			}
			return a.emit(cmd, &v1.ListAccessKeysResponse{Keys: keys}, accessTable(keys))
		},
	}
	cmd.Flags().BoolVar(&revoked, "revoked", false, "include revoked keys")
	return cmd
}

func (a *app) accessRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "revoke KEY_ID",
		Short:   "Revoke an access key: every service refuses it from now on",
		Example: "  tokenctl access revoke 3f2a9c81d0e4",
		Args:    exactArgs("KEY_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ingestionClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.RevokeAccessKey(cmd.Context(), &v1.RevokeAccessKeyRequest{KeyId: args[0]})
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, accessTable([]*v1.AccessKey{resp.GetKey()}))
		},
	}
}

// listAccess reads every page of ListAccessKeys.
func (a *app) listAccess(ctx context.Context, client v1.IngestionServiceClient, revoked bool) ([]*v1.AccessKey, error) {
	return allPages(ctx, a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.AccessKey, string, error) {
		resp, err := client.ListAccessKeys(ctx, &v1.ListAccessKeysRequest{IncludeRevoked: revoked, PageSize: size, PageToken: token})
		return resp.GetKeys(), resp.GetNextPageToken(), err
	})
}
