package keys

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/keystore"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	"github.com/tokenmeter/tokenmeter/libs/rolegrant"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

const maxLabelLen = 128

// Admin serves the key RPCs of IngestionService: launcher keys to admins
// and owners, access keys to owners (the policy, libs/access, keeps every
// other role out).
type Admin struct {
	Store *keystore.Store
	// People holds the access keys.
	People *keystore.Store
	// Grants holds the console's role grants (read by reporting).
	Grants *rolegrant.Store
	// Ring is this replica's keyring: changes land in it at once, so the
	// admin's next call here sees them; the watch brings them everywhere.
	Ring *auth.Keyring
	Now  func() time.Time
}

func admin(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || (p.Role != auth.RoleAdmin && p.Role != auth.RoleOwner) {
		return p, status.Error(codes.PermissionDenied, "launcher keys are managed with an admin or owner key")
	}
	return p, nil
}

// CreateLauncherKey makes a key for one team of the admin's organisation.
func (a *Admin) CreateLauncherKey(ctx context.Context, req *v1.CreateLauncherKeyRequest) (*v1.CreateLauncherKeyResponse, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	if len(req.GetLabel()) > maxLabelLen {
		bad.Add("label", "must be at most %d characters", maxLabelLen)
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	secret, rec, err := a.Store.Create(ctx, keystore.Record{Org: p.Org, Team: req.GetTeamId(), Label: req.GetLabel(), CreatedBy: p.KeyID}, a.Now())
	if err != nil {
		return nil, unavailable(err)
	}
	a.Ring.AddHash(auth.Hash(secret), rec.Principal())
	return &v1.CreateLauncherKeyResponse{Key: toProto(rec), Secret: secret}, nil
}

// RevokeLauncherKey revokes a key of the admin's organisation.
func (a *Admin) RevokeLauncherKey(ctx context.Context, req *v1.RevokeLauncherKeyRequest) (*v1.RevokeLauncherKeyResponse, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := a.revoke(ctx, a.Store, p.Org, req.GetKeyId(), "launcher key")
	if err != nil {
		return nil, err
	}
	return &v1.RevokeLauncherKeyResponse{Key: toProto(rec)}, nil
}

// revoke revokes keyID of org in store and drops it from this replica's
// keyring at once (the watch drops it everywhere); what names the kind of
// key in a NotFound.
func (a *Admin) revoke(ctx context.Context, store *keystore.Store, org, keyID, what string) (keystore.Record, error) {
	if !keystore.ValidKeyID(keyID) {
		var bad grpcserver.Violations
		bad.Add("key_id", "must be a key id as listed: 12 lowercase hex digits")
		return keystore.Record{}, bad.Err()
	}
	rec, err := store.Revoke(ctx, org, keyID, a.Now())
	if errors.Is(err, keystore.ErrNotFound) {
		return rec, status.Errorf(codes.NotFound, "no %s %s in this organisation", what, quote.Prefix(keyID))
	}
	if err != nil {
		return rec, unavailable(err)
	}
	if sum, err := rec.Hash(); err == nil {
		a.Ring.RevokeHash(sum)
	}
	return rec, nil
}

// ListLauncherKeys lists the organisation's keys without their secrets,
// oldest first, a page at a time.
func (a *Admin) ListLauncherKeys(ctx context.Context, req *v1.ListLauncherKeysRequest) (*v1.ListLauncherKeysResponse, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	if req.GetTeamId() != "" {
		bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	}
	page := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(),
		"ListLauncherKeys", p.Org, req.GetTeamId(), strconv.FormatBool(req.GetIncludeRevoked()))
	if err := bad.Err(); err != nil {
		return nil, err
	}
	recs, err := a.Store.List(ctx, p.Org)
	if err != nil {
		return nil, unavailable(err)
	}
	recs = slices.DeleteFunc(recs, func(r keystore.Record) bool {
		return (req.GetTeamId() != "" && r.Team != req.GetTeamId()) || (r.RevokedAt != nil && !req.GetIncludeRevoked())
	})
	slices.SortFunc(recs, func(a, b keystore.Record) int { return strings.Compare(pageKey(a), pageKey(b)) })
	recs, next := grpcserver.PageSlice(page, recs, pageKey)
	resp := &v1.ListLauncherKeysResponse{NextPageToken: next}
	for _, r := range recs {
		resp.Keys = append(resp.Keys, toProto(r))
	}
	return resp, nil
}

// pageKey orders keys by creation, then id: a fixed-width UTC time sorts as text.
func pageKey(r keystore.Record) string {
	return r.CreatedAt.UTC().Format("20060102T150405.000000000") + "." + r.KeyID
}

func toProto(r keystore.Record) *v1.LauncherKey {
	k := &v1.LauncherKey{KeyId: r.KeyID, TeamId: r.Team, Label: r.Label, CreatedBy: r.CreatedBy, CreatedAt: timestamppb.New(r.CreatedAt)}
	if r.RevokedAt != nil {
		k.RevokedAt = timestamppb.New(*r.RevokedAt)
	}
	return k
}

// unavailable is the status of a key store that could not be read or
// written: retryable, with a hint of when.
func unavailable(err error) error {
	return grpcserver.Retryable(codes.Unavailable, 500*time.Millisecond, err.Error()+"; retry")
}
