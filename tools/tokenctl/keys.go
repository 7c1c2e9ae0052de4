package tokenctl

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) keysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke launcher keys",
		Long: `A launcher key lets the launchers of one team ask ingestion to start products.
Its secret is shown once, when it is made: tokenmeter keeps only its SHA-256.
A revoked key is refused on every ingestion replica within a second.`,
	}
	cmd.AddCommand(a.keysCreateCommand(), a.keysListCommand(), a.keysRevokeCommand(), a.keysStaticCommand())
	return cmd
}

func keysTable(keys []*v1.LauncherKey) *table {
	t := newTable("KEY_ID", "TEAM", "LABEL", "CREATED", "CREATED_BY", "REVOKED")
	for _, k := range keys {
		t.add(k.GetKeyId(), k.GetTeamId(), k.GetLabel(), k.GetCreatedAt(), k.GetCreatedBy(), k.GetRevokedAt())
	}
	return t
}

func (a *app) keysCreateCommand() *cobra.Command {
	var label string
	cmd := &cobra.Command{
		Use:   "create TEAM",
		Short: "Make a launcher key for a team; its secret is printed once",
		Long: `Make a launcher key for TEAM. The table (and -o json, as 'secret') holds the
secret: give it to the launchers and keep it nowhere else, it cannot be shown
again. -o csv prints it as a column too.`,
		Example:           `  tokenctl keys create design --label "design office launchers"`,
		Args:              exactArgs("TEAM"),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ingestionClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.CreateLauncherKey(cmd.Context(), &v1.CreateLauncherKeyRequest{TeamId: args[0], Label: label})
			if err != nil {
				return err
			}
			k := resp.GetKey()
			t := newTable("KEY_ID", "TEAM", "LABEL", "SECRET")
			t.add(k.GetKeyId(), k.GetTeamId(), k.GetLabel(), resp.GetSecret())
			if a.settings.Output == outputTable {
				fmt.Fprintln(cmd.ErrOrStderr(), "tokenctl: the secret is shown this once: store it with the launchers now")
			}
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringVar(&label, "label", "", "which launchers or site use the key")
	return cmd
}

func (a *app) keysListCommand() *cobra.Command {
	var (
		team    string
		revoked bool
	)
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the organisation's launcher keys (never their secrets)",
		Example: "  tokenctl keys list --team design --revoked",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.ingestionClient(cmd)
			if err != nil {
				return err
			}
			keys, err := a.listKeys(cmd.Context(), client, &v1.ListLauncherKeysRequest{TeamId: team, IncludeRevoked: revoked})
			if err != nil {
				return err
			}
			return a.emit(cmd, &v1.ListLauncherKeysResponse{Keys: keys}, keysTable(keys))
		},
	}
	cmd.Flags().StringVar(&team, "team", "", "only this team's keys")
	cmd.Flags().BoolVar(&revoked, "revoked", false, "include revoked keys")
	completeFlag(cmd, "team", a.teams)
	return cmd
}

func (a *app) keysRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "revoke KEY_ID",
		Short:             "Revoke a launcher key: its launchers are refused from now on",
		Example:           "  tokenctl keys revoke 3f2a9c81d0e4",
		Args:              exactArgs("KEY_ID"),
		ValidArgsFunction: completeArgs(a.keyIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ingestionClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.RevokeLauncherKey(cmd.Context(), &v1.RevokeLauncherKeyRequest{KeyId: args[0]})
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, keysTable([]*v1.LauncherKey{resp.GetKey()}))
		},
	}
}

// keyIDs offers the ids of the live launcher keys with their teams.
func (a *app) keyIDs(cmd *cobra.Command, _ string) []string {
	client, err := a.ingestionClient(cmd)
	if err != nil {
		return nil
	}
	keys, err := a.listKeys(cmd.Context(), client, &v1.ListLauncherKeysRequest{})
	if err != nil {
		return nil
	}
	var out []string
	for _, k := range keys {
		out = append(out, k.GetKeyId()+"\t"+k.GetTeamId()+" "+k.GetLabel())
	}
	return out
}

// listKeys reads every page of ListLauncherKeys.
func (a *app) listKeys(ctx context.Context, client v1.IngestionServiceClient, req *v1.ListLauncherKeysRequest) ([]*v1.LauncherKey, error) {
	return allPages(ctx, a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.LauncherKey, string, error) {
		req.PageSize, req.PageToken = size, token
		resp, err := client.ListLauncherKeys(ctx, req)
		return resp.GetKeys(), resp.GetNextPageToken(), err
	})
}
