package alerting_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/store"
)

// walk follows next_page_tokens to the end and returns every key listed and
// how many pages it took; each page holds at most size (0: 100).
func walk(t *testing.T, size int, page func(token string) (keys []string, next string)) ([]string, int) {
	t.Helper()
	var all []string
	token := ""
	for pages := 1; ; pages++ {
		keys, next := page(token)
		require.LessOrEqual(t, len(keys), map[bool]int{true: 100, false: size}[size == 0])
		all = append(all, keys...)
		if next == "" {
			return all, pages
		}
		require.Less(t, pages, 100, "the walk must end")
		token = next
	}
}

func teamName(i int) string { return fmt.Sprintf("team-%03d", i) }

func TestListRulesAndWebhooksWalkEveryPage(t *testing.T) {
	t.Parallel()
	h := startService(t)
	c := h.client(acmeAdmin)
	ctx := t.Context()
	var teams, hooks []string
	for i := range 130 {
		_, err := c.SetRules(ctx, &v1.SetRulesRequest{TeamId: teamName(i)})
		require.NoError(t, err)
		_, err = c.SetWebhook(ctx, &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "hook", TeamId: teamName(i), Url: "https://example.com/" + strconv.Itoa(i)}})
		require.NoError(t, err)
		teams, hooks = append(teams, teamName(i)), append(hooks, teamName(i)+"/hook")
	}
	for _, size := range []int32{0, 40} {
		got, pages := walk(t, int(size), func(token string) ([]string, string) {
			resp, err := c.ListRules(ctx, &v1.ListRulesRequest{PageSize: size, PageToken: token})
			require.NoError(t, err)
			var keys []string
			for _, tr := range resp.GetTeams() {
				keys = append(keys, tr.GetTeamId())
			}
			return keys, resp.GetNextPageToken()
		})
		require.Equal(t, teams, got, "rules, size %d", size)
		require.Equal(t, map[int32]int{0: 2, 40: 4}[size], pages)

		got, _ = walk(t, int(size), func(token string) ([]string, string) {
			resp, err := c.ListWebhooks(ctx, &v1.ListWebhooksRequest{PageSize: size, PageToken: token})
			require.NoError(t, err)
			var keys []string
			for _, w := range resp.GetWebhooks() {
				require.Empty(t, w.GetSecret())
				keys = append(keys, w.GetTeamId()+"/"+w.GetWebhookId())
			}
			return keys, resp.GetNextPageToken()
		})
		require.Equal(t, hooks, got, "webhooks, size %d", size)
	}
	// Named teams page too, in order, whatever order they were named in.
	got, pages := walk(t, 2, func(token string) ([]string, string) {
		resp, err := c.ListRules(ctx, &v1.ListRulesRequest{TeamIds: []string{teamName(4), teamName(1), teamName(3), teamName(2), teamName(0)}, PageSize: 2, PageToken: token})
		require.NoError(t, err)
		var keys []string
		for _, tr := range resp.GetTeams() {
			keys = append(keys, tr.GetTeamId())
		}
		return keys, resp.GetNextPageToken()
	})
	require.Equal(t, teams[:5], got)
	require.Equal(t, 3, pages)

	first, err := c.ListRules(ctx, &v1.ListRulesRequest{PageSize: 10})
	require.NoError(t, err)
	_, err = c.ListWebhooks(ctx, &v1.ListWebhooksRequest{PageToken: first.GetNextPageToken()})
	requireField(t, err, "page_token")
	_, err = h.client(otherAdmin).ListRules(ctx, &v1.ListRulesRequest{PageToken: first.GetNextPageToken()})
	requireField(t, err, "page_token")
	_, err = c.ListRules(ctx, &v1.ListRulesRequest{PageToken: "not-a-token"})
	requireField(t, err, "page_token")
	_, err = c.ListWebhooks(ctx, &v1.ListWebhooksRequest{PageSize: 1001})
	requireField(t, err, "page_size")
}

func TestListDeadLettersWalksEveryPage(t *testing.T) {
	t.Parallel()
	h := startService(t)
	c := h.client(acmeAdmin)
	ctx := t.Context()
	// Dead letters are alerting's own: written as alerting.
	nc := testkit.Connect(t, h.url, "alerting")
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	st, err := store.Open(ctx, js, 1)
	require.NoError(t, err)
	var want []string
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := range 130 {
		id := "low_balance.acme.design." + strconv.Itoa(i)
		// Two share each failure time: the order must still be total.
		dl := &v1.DeadLetter{TeamId: "design", WebhookId: "hook", Attempts: 3, FailedAt: timestamppb.New(at.Add(time.Duration(i/2) * time.Second)),
			Alert: &v1.Alert{AlertId: id, OrgId: "acme", TeamId: "design"}}
		require.NoError(t, st.DeadLetters.Put(ctx, "acme", dl))
		want = append(want, id)
	}
	for _, size := range []int32{0, 40} {
		got, pages := walk(t, int(size), func(token string) ([]string, string) {
			resp, err := c.ListDeadLetters(ctx, &v1.ListDeadLettersRequest{PageSize: size, PageToken: token})
			require.NoError(t, err)
			var keys []string
			for _, d := range resp.GetDeadLetters() {
				keys = append(keys, d.GetAlert().GetAlertId())
			}
			return keys, resp.GetNextPageToken()
		})
		require.ElementsMatch(t, want, got, "every dead letter once, size %d", size)
		require.Len(t, got, len(want))
		require.Equal(t, map[int32]int{0: 2, 40: 4}[size], pages)
	}
	other, err := h.client(otherAdmin).ListDeadLetters(ctx, &v1.ListDeadLettersRequest{})
	require.NoError(t, err)
	require.Empty(t, other.GetDeadLetters())
}

func TestListAlertsWalksEveryPage(t *testing.T) {
	t.Parallel()
	h := startService(t)
	c := h.client(acmeAdmin)
	ctx := t.Context()
	var newestFirst, design []uint64
	for i := range 110 {
		team := []string{"design", "build"}[i%2]
		src := h.crossing("acme", team)
		newestFirst = append([]uint64{src}, newestFirst...)
		if team == "design" {
			design = append([]uint64{src}, design...)
		}
	}
	h.crossing("other", "design")
	list := func(req *v1.ListAlertsRequest) func(string) ([]string, string) {
		return func(token string) ([]string, string) {
			req.PageToken = token
			resp, err := c.ListAlerts(ctx, req)
			require.NoError(t, err)
			var keys []string
			for _, a := range resp.GetAlerts() {
				keys = append(keys, strconv.FormatUint(a.GetSourceSequence(), 10))
			}
			return keys, resp.GetNextPageToken()
		}
	}
	str := func(seqs []uint64) []string {
		var out []string
		for _, s := range seqs {
			out = append(out, strconv.FormatUint(s, 10))
		}
		return out
	}
	got, pages := walk(t, 0, list(&v1.ListAlertsRequest{}))
	require.Equal(t, str(newestFirst), got, "every alert once, newest first")
	require.Equal(t, 2, pages)
	got, pages = walk(t, 25, list(&v1.ListAlertsRequest{Limit: 25, TeamIds: []string{"design"}}))
	require.Equal(t, str(design), got)
	require.Equal(t, 3, pages)

	// Acknowledge every third design alert: the unacknowledged walk skips exactly those.
	first, err := c.ListAlerts(ctx, &v1.ListAlertsRequest{TeamIds: []string{"design"}})
	require.NoError(t, err)
	var unacked []uint64
	for i, a := range first.GetAlerts() {
		if i%3 == 0 {
			_, err := c.AcknowledgeAlert(ctx, &v1.AcknowledgeAlertRequest{AlertId: a.GetAlertId()})
			require.NoError(t, err)
			continue
		}
		unacked = append(unacked, a.GetSourceSequence())
	}
	got, _ = walk(t, 7, list(&v1.ListAlertsRequest{Limit: 7, TeamIds: []string{"design"}, UnacknowledgedOnly: true}))
	require.Equal(t, str(unacked), got)

	page, err := c.ListAlerts(ctx, &v1.ListAlertsRequest{Limit: 10})
	require.NoError(t, err)
	_, err = c.ListAlerts(ctx, &v1.ListAlertsRequest{Limit: 10, TeamIds: []string{"build"}, PageToken: page.GetNextPageToken()})
	requireField(t, err, "page_token")
	_, err = c.ListAlerts(ctx, &v1.ListAlertsRequest{PageToken: "bm9wZQ"})
	requireField(t, err, "page_token")
}

// A 100 KB value, or a list of thousands, is refused by name in an answer of
// a few hundred bytes.
func TestOversizedValuesAreNotEchoed(t *testing.T) {
	t.Parallel()
	h := startService(t)
	c := h.client(acmeAdmin)
	ctx := t.Context()
	huge := strings.Repeat("x", 100<<10)
	for field, call := range map[string]func() error{
		"team_id":     func() error { _, err := c.SetRules(ctx, &v1.SetRulesRequest{TeamId: huge}); return err },
		"team_ids[0]": func() error { _, err := c.ListAlerts(ctx, &v1.ListAlertsRequest{TeamIds: []string{huge}}); return err },
		"page_token":  func() error { _, err := c.ListWebhooks(ctx, &v1.ListWebhooksRequest{PageToken: huge}); return err },
		"alert_id": func() error {
			_, err := c.AcknowledgeAlert(ctx, &v1.AcknowledgeAlertRequest{AlertId: huge})
			return err
		},
		"webhook.url": func() error {
			_, err := c.SetWebhook(ctx, &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "w", TeamId: "design", Url: huge}})
			return err
		},
		"webhook.team_id": func() error {
			_, err := c.SetWebhook(ctx, &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "w", TeamId: huge, Url: "https://x"}})
			return err
		},
		"settings.usage_tiers.percents": func() error {
			_, err := c.SetRules(ctx, &v1.SetRulesRequest{TeamId: "design", Settings: &v1.AlertRules{UsageTiers: &v1.UsageTiersRule{Percents: make([]float64, 100_000)}}})
			return err
		},
		"webhook.kinds": func() error {
			_, err := c.SetWebhook(ctx, &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "w", TeamId: "design", Url: "https://x", Kinds: make([]string, 10_000)}})
			return err
		},
		"webhook.secret": func() error {
			_, err := c.SetWebhook(ctx, &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "w", TeamId: "design", Url: "https://x", Secret: huge}})
			return err
		},
	} {
		err := call()
		requireField(t, err, field)
		size := proto.Size(status.Convert(err).Proto())
		require.Less(t, size, 2<<10, "%s: a %d-byte answer", field, size)
	}
}
