package tokenctl

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) usersListCommand() *cobra.Command {
	var team string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "The user directory: every user assigned or charged, with assignments, last use and status",
		Long: `List the users of the organisation (or of --team): the teams they are assigned
to with the products allowed there, the user groups they belong to, their last
use, and their status (assigned, idle: assigned but unused for the idle days,
unassigned). Names and e-mail
addresses show only where the organisation shows personal data
('tokenctl personal-data get'); elsewhere users are pseudonyms.`,
		Example: "  tokenctl users list\n  tokenctl users list --team design -o csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			users, err := allPages(cmd.Context(), a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.DirectoryUser, string, error) {
				resp, err := client.ListUsers(ctx, &v1.ListUsersRequest{TeamId: team, PageSize: size, PageToken: token})
				return resp.GetUsers(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return a.emit(cmd, &v1.ListUsersResponse{Users: users}, directoryTable(users))
		},
	}
	cmd.Flags().StringVar(&team, "team", "", "one team's users (default: every team's)")
	completeFlag(cmd, "team", a.teams)
	return cmd
}

func directoryTable(users []*v1.DirectoryUser) *table {
	t := newTable("USER", "NAME", "EMAIL", "STATUS", "LAST_USED", "ASSIGNMENTS", "GROUPS")
	for _, u := range users {
		var as, gs []string
		for _, a := range u.GetAssignments() {
			as = append(as, a.GetTeamId()+":"+strings.Join(a.GetProductCodes(), ","))
		}
		for _, g := range u.GetGroups() {
			gs = append(gs, g.GetTeamId()+":"+g.GetGroupId())
		}
		t.add(u.GetUserId(), u.GetDisplayName(), u.GetEmail(), u.GetStatus(), u.GetLastUsedAt(), strings.Join(as, " "), strings.Join(gs, " "))
	}
	return t
}

func (a *app) usersSetProfileCommand() *cobra.Command {
	var name, email, id string
	cmd := &cobra.Command{
		Use:   "set-profile USER",
		Short: "Give a user a display name and an e-mail address for the directory",
		Long: `Set USER's display name (--name, at most 128 characters) and e-mail address
(--email, one plain address): both replace what was set, and empty clears them.
The directory shows them only where the organisation shows personal data.`,
		Example: `  tokenctl users set-profile ann --name "Ann Example" --email ann@example.com`,
		Args:    exactArgs("USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.SetUserProfile(cmd.Context(), &v1.SetUserProfileRequest{
				UserId: args[0], DisplayName: name, Email: email, EventId: id})
			if err != nil {
				return retryHint(err, id)
			}
			t := newTable("USER", "NAME", "EMAIL")
			t.add(args[0], name, email)
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().StringVar(&email, "email", "", "e-mail address")
	eventFlag(cmd, &id)
	return cmd
}

func (a *app) usersEraseCommand() *cobra.Command {
	var reason, id string
	cmd := &cobra.Command{
		Use:   "erase USER",
		Short: "Erase a user's personal data (right to erasure): name and address gone, shown by pseudonym only",
		Long: `Erase USER's personal data: the key that sealed the display name and e-mail
address is deleted, so no one can read them again, and every report, export,
ledger read, alert and webhook shows USER by pseudonym only, even where the
organisation shows people. The user's usage stays (it is the organisation's
record of what was used), under the pseudonym. Recorded with who erased and
--reason; erasing again answers the first erasure. It cannot be undone.`,
		Example: `  tokenctl users erase ann --reason "left the company, ticket 4711"`,
		Args:    exactArgs("USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.EraseUser(cmd.Context(), &v1.EraseUserRequest{UserId: args[0], Reason: reason, EventId: id})
			if err != nil {
				return retryHint(err, id)
			}
			t := newTable("USER", "ERASED_AT", "ACTOR")
			t.add(args[0], resp.GetErasedAt(), resp.GetActor())
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded with the erasure)")
	eventFlag(cmd, &id)
	return cmd
}
