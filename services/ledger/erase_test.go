package ledger_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// A profile reaches the log sealed (no name or address in its bytes) and
// the directory opens it; EraseUser (admins, not viewers) records who erased
// and why, deletes the key, and from then on the directory shows nothing,
// ledger reads of an organisation that shows people show the user by
// pseudonym only (also after a restart), and the user takes no new profile.
// A profile an older ledger wrote in plain text is forgotten the same way.
func TestEraseUser(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin := client(t, r.svc.Addr(), adminKey)
	_, err := client(t, r.svc.Addr(), ownerKey).SetPersonalData(ctx, &v1.SetPersonalDataRequest{Show: true, EventId: "show-people-0000"})
	require.NoError(t, err)
	seedHistory(t, admin, client(t, r.svc.Addr(), serviceKey))
	_, err = admin.SetUserProfile(ctx, &v1.SetUserProfileRequest{UserId: "ann", DisplayName: "Ann Example", Email: "ann@example.com", EventId: "profile-ann-0001"})
	require.NoError(t, err)
	js := reportingJS(t, natsURL)
	appendPlainProfile(t, natsURL) // bob's, as ledgers wrote them before sealing
	require.NotContains(t, ledgerBytes(t, js, "ann@example.com"), "ann@example.com", "the log holds the profile sealed")

	settings, err := privacy.Follow(ctx, js)
	require.NoError(t, err)
	t.Cleanup(settings.Stop)
	dir := privacy.FollowDirectory(ctx, js, settings, testkit.UserHashKey, slog.New(slog.DiscardHandler))
	require.Eventually(t, func() bool {
		p, ok := dir.Profile("acme", "ann")
		return ok && p.DisplayName == "Ann Example" && p.Email == "ann@example.com"
	}, 5*time.Second, 10*time.Millisecond, "reporting's directory opens the sealed profile")
	_, ok := dir.Profile("acme", "bob")
	require.True(t, ok, "a plain-text profile of an older ledger")

	erase := &v1.EraseUserRequest{UserId: "ann", Reason: "left the company, ticket 4711", EventId: "erase-ann-0001"}
	_, err = client(t, r.svc.Addr(), viewerKey).EraseUser(ctx, erase)
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	_, err = admin.EraseUser(ctx, &v1.EraseUserRequest{UserId: "a.b", Reason: strings.Repeat("r", 257)})
	require.ElementsMatch(t, []string{"user_id", "reason", "event_id"}, badFields(t, err))
	first, err := admin.EraseUser(ctx, erase)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(first.GetActor(), "admin:"), first.GetActor())
	again, err := admin.EraseUser(ctx, &v1.EraseUserRequest{UserId: "ann", EventId: "erase-ann-0002"})
	require.NoError(t, err)
	require.Equal(t, first.GetErasedAt().AsTime(), again.GetErasedAt().AsTime(), "erasing twice answers the first erasure")
	_, err = admin.EraseUser(ctx, &v1.EraseUserRequest{UserId: "bob", EventId: "erase-ann-0001"})
	require.Equal(t, codes.AlreadyExists, status.Code(err), "an event id used for another erasure: %v", err)

	kv, err := js.KeyValue(ctx, privacy.PersonKeysBucket)
	require.NoError(t, err)
	keys, err := kv.ListKeys(ctx)
	require.NoError(t, err)
	for k := range keys.Keys() {
		t.Errorf("a key is left in the bucket after the only profile's user was erased: %s", k)
	}
	require.Eventually(t, func() bool { _, ok := dir.Profile("acme", "ann"); return !ok }, 5*time.Second, 10*time.Millisecond)

	_, err = admin.SetUserProfile(ctx, &v1.SetUserProfileRequest{UserId: "ann", DisplayName: "Ann", EventId: "profile-ann-0002"})
	require.Equal(t, codes.FailedPrecondition, status.Code(err), "an erased user takes no profile: %v", err)
	_, err = admin.EraseUser(ctx, &v1.EraseUserRequest{UserId: "bob", EventId: "erase-bob-0001"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, ok := dir.Profile("acme", "bob"); return !ok }, 5*time.Second, 10*time.Millisecond,
		"a plain-text profile is no longer shown once its user is erased")

	requireErasedInReads(t, admin)
	r.stop()
	requireErasedInReads(t, client(t, startReplica(t, natsURL, "again").svc.Addr(), adminKey))
}

// requireErasedInReads: ann and bob (both erased) appear in ledger reads of
// acme, which shows people, only by pseudonym; the erasure is listed with
// its reason.
func requireErasedInReads(t *testing.T, admin v1.LedgerServiceClient) {
	t.Helper()
	var b strings.Builder
	var erased int
	for _, team := range []string{"design", "civil", ""} {
		for _, tx := range listAll(t, admin, &v1.ListTransactionsRequest{TeamId: team}) {
			b.WriteString(protojson.Format(tx))
			if tx.GetType() == "user_erased" && tx.GetReason() == "left the company, ticket 4711" {
				require.True(t, strings.HasPrefix(tx.GetUserId(), privacy.Prefix), tx.GetUserId())
				erased++
			}
		}
	}
	budgets, err := admin.ListBudgets(t.Context(), &v1.ListBudgetsRequest{TeamId: "design"})
	require.NoError(t, err)
	require.NotEmpty(t, budgets.GetBudgets(), "ann's budget")
	b.WriteString(protojson.Format(budgets))
	all := b.String()
	for _, id := range []string{`"ann"`, `"bob"`, "user ann", `"launch-1-0000"`} {
		require.NotContains(t, all, id, "an erased user in a ledger read")
	}
	require.Contains(t, all, `"u_`)
	require.Positive(t, erased, "the erasure is in the history")
}

func reportingJS(t *testing.T, natsURL string) jetstream.JetStream {
	t.Helper()
	_, js, err := eventlog.Connect(t.Context(), testkit.Client(t, natsURL, natsauth.Reporting), "reporting",
		slog.New(slog.DiscardHandler), eventlog.Streams{Read: []string{eventlog.LedgerStream}})
	require.NoError(t, err)
	return js
}

// appendPlainProfile appends bob's profile as ledgers wrote it before
// profiles were sealed.
func appendPlainProfile(t *testing.T, natsURL string) {
	t.Helper()
	_, js, err := eventlog.Connect(t.Context(), testkit.Client(t, natsURL, natsauth.Ledger), "ledger",
		slog.New(slog.DiscardHandler), eventlog.Streams{Own: []string{eventlog.LedgerStream}})
	require.NoError(t, err)
	_, err = eventlog.Append(t.Context(), js, eventlog.CatalogSubject("acme"), &v1.Event{EventId: "profile-bob-0001",
		Type: "user_profile_set", OrgId: "acme", ServerTime: timestamppb.Now(), Actor: &v1.Actor{Kind: "admin", Id: "k-old"},
		Payload: &v1.Event_UserProfileSet{UserProfileSet: &v1.UserProfileSet{UserId: "bob", DisplayName: "Bob Old", Email: "bob@example.com"}}}, nil)
	require.NoError(t, err)
}

// ledgerBytes returns every message of the LEDGER stream holding needle
// (empty when none does).
func ledgerBytes(t *testing.T, js jetstream.JetStream, needle string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, eventlog.LedgerStream)
	require.NoError(t, err)
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	var found strings.Builder
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		require.NoError(t, err)
		if strings.Contains(string(msg.Data), needle) {
			found.Write(msg.Data)
		}
	}
	require.Positive(t, info.State.Msgs)
	return found.String()
}
