package tokenctl

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) subscriptionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "subscriptions",
		Short: "Named subscriptions: users whose launches of some products never touch the pool",
		Long: `A user holding a named subscription for a product (the hybrid model: daily
users on subscriptions, tokens for the occasional ones) launches it without
tokens and without a Flex assignment, until the subscription's end or its
revocation. 'tokenctl report subscriptions' shows that use apart from token use.`,
	}
	cmd.AddCommand(a.subscriptionsGrantCommand(), a.subscriptionsRevokeCommand(), a.subscriptionsListCommand())
	return cmd
}

func (a *app) subscriptionsGrantCommand() *cobra.Command {
	var (
		products         []string
		ends, reason, id string
	)
	cmd := &cobra.Command{
		Use:               "grant TEAM USER",
		Short:             "Record that a user holds a named subscription for the given products",
		Example:           "  tokenctl subscriptions grant design ann --products REVIT --ends 2027-12-31",
		Args:              exactArgs("TEAM", "USER"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			products = sortedSet(products)
			if len(products) == 0 {
				return fmt.Errorf("say which products %s's subscription covers: --products REVIT,ACAD", args[1])
			}
			end, err := parseWhen("--ends", ends)
			if err != nil {
				return err
			}
			return a.grant(cmd, &v1.GrantSubscriptionRequest{EventId: eventID(id), TeamId: args[0], UserId: args[1],
				ProductCodes: products, EndsAt: end, Reason: reason})
		},
	}
	cmd.Flags().StringSliceVar(&products, "products", nil, "product codes the subscription covers, comma-separated")
	cmd.Flags().StringVar(&ends, "ends", "", "when the subscription ends: a date (midnight UTC) or an RFC 3339 time (default: until revoked)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (at most 512 bytes), kept in the history")
	completeFlag(cmd, "products", a.products)
	eventFlag(cmd, &id)
	return cmd
}

func (a *app) subscriptionsRevokeCommand() *cobra.Command {
	var (
		products   []string
		reason, id string
	)
	cmd := &cobra.Command{
		Use:               "revoke TEAM USER",
		Short:             "End a user's named subscription (for --products, or all): their launches use tokens again",
		Example:           "  tokenctl subscriptions revoke design ann\n  tokenctl subscriptions revoke design ann --products REVIT",
		Args:              exactArgs("TEAM", "USER"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.revoke(cmd, &v1.RevokeSubscriptionRequest{EventId: eventID(id), TeamId: args[0], UserId: args[1],
				ProductCodes: sortedSet(products), Reason: reason})
		},
	}
	cmd.Flags().StringSliceVar(&products, "products", nil, "only these products (default: every product of the user's subscription)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (at most 512 bytes), kept in the history")
	completeFlag(cmd, "products", a.products)
	eventFlag(cmd, &id)
	return cmd
}

func (a *app) subscriptionsListCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "list TEAM",
		Short:             "The team's subscriptions in force",
		Example:           "  tokenctl subscriptions list design",
		Args:              exactArgs("TEAM"),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			subs, err := allPages(cmd.Context(), a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.Subscription, string, error) {
				resp, err := client.ListSubscriptions(ctx, &v1.ListSubscriptionsRequest{TeamId: args[0], PageSize: size, PageToken: token})
				return resp.GetSubscriptions(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return a.emit(cmd, &v1.ListSubscriptionsResponse{Subscriptions: subs}, subscriptionTable(subs))
		},
	}
}

func (a *app) grant(cmd *cobra.Command, req *v1.GrantSubscriptionRequest) error {
	client, err := a.ledgerClient(cmd)
	if err != nil {
		return err
	}
	resp, err := client.GrantSubscription(cmd.Context(), req)
	if err != nil {
		return retryHint(err, req.GetEventId())
	}
	t := subscriptionTable(resp.GetSubscriptions())
	t.note("%s's launches of %v are authorized by subscription, without tokens (event %s)", req.GetUserId(), req.GetProductCodes(), req.GetEventId())
	return a.emit(cmd, resp, t)
}

func (a *app) revoke(cmd *cobra.Command, req *v1.RevokeSubscriptionRequest) error {
	client, err := a.ledgerClient(cmd)
	if err != nil {
		return err
	}
	resp, err := client.RevokeSubscription(cmd.Context(), req)
	if err != nil {
		return retryHint(err, req.GetEventId())
	}
	t := subscriptionTable(resp.GetSubscriptions())
	t.note("revoked: %s's launches of those products use tokens again (event %s)", req.GetUserId(), req.GetEventId())
	return a.emit(cmd, resp, t)
}

func subscriptionTable(subs []*v1.Subscription) *table {
	t := newTable("TEAM", "USER", "PRODUCT", "ENDS", "GRANTED")
	for _, s := range subs {
		ends := "until revoked"
		if s.GetEndsAt() != nil {
			ends = s.GetEndsAt().AsTime().UTC().Format(time.RFC3339)
		}
		t.add(s.GetTeamId(), s.GetUserId(), s.GetProductCode(), ends, s.GetGrantedAt().AsTime().UTC().Format(time.RFC3339))
	}
	return t
}

func (a *app) subscriptionUsageCommand() *cobra.Command {
	var s scope
	cmd := &cobra.Command{
		Use:   "subscriptions",
		Short: "Launches authorized by named subscriptions, apart from token use",
		Long: `Per team, user and product: the launches named subscriptions authorized in the
range (no tokens), most days first; the notes set them beside the launches
on tokens and the tokens charged in the same range and teams.`,
		Example: "  tokenctl report subscriptions --range this-month",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, teams, rng, err := a.reportScope(cmd, &s)
			if err != nil {
				return err
			}
			resp, err := client.GetSubscriptionUsage(cmd.Context(), &v1.GetSubscriptionUsageRequest{TeamIds: teams, Range: rng})
			if err != nil {
				return err
			}
			t := newTable("TEAM", "USER", "PRODUCT", "LAUNCHES", "DAYS", "LAST_USED")
			for _, r := range resp.GetRows() {
				t.add(r.GetTeamId(), r.GetUserId(), r.GetProductCode(), r.GetLaunches(), r.GetDaysUsed(), r.GetLastUsed())
			}
			t.note("from %s to %s: %d launches by subscription (no tokens); %d launches on tokens, %d tokens charged",
				resp.GetFromDate(), resp.GetToDate(), resp.GetSubscriptionLaunches(), resp.GetTokenLaunches(), resp.GetTokensCharged())
			return a.emit(cmd, resp, t)
		},
	}
	a.scopeFlags(cmd, &s)
	return cmd
}
