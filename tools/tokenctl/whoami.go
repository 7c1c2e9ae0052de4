package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) whoamiCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "whoami",
		Short:   "Show the organisation, role and key id of the API key in use",
		Example: "  tokenctl whoami",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.WhoAmI(cmd.Context(), &v1.WhoAmIRequest{})
			if err != nil {
				return err
			}
			t := newTable("ORG", "ROLE", "TEAM", "KEY_ID", "TIME_ZONE")
			t.add(resp.GetOrgId(), resp.GetRole(), resp.GetRoleTeamId(), resp.GetKeyId(), resp.GetTimeZone())
			return a.emit(cmd, resp, t)
		},
	}
}
