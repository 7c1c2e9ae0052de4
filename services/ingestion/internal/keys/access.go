package keys

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/keystore"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func owner(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Role != auth.RoleOwner {
		return p, status.Error(codes.PermissionDenied, "access keys are managed with an owner key")
	}
	return p, nil
}

// CreateAccessKey makes a key holding one role of the owner's organisation.
func (a *Admin) CreateAccessKey(ctx context.Context, req *v1.CreateAccessKeyRequest) (*v1.CreateAccessKeyResponse, error) {
	p, err := owner(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	if _, err := auth.ParseRole(req.GetRole(), req.GetRoleTeamId()); err != nil {
		field := "role"
		if slices.Contains(auth.PeopleRoles, auth.Role(req.GetRole())) {
			field = "role_team_id"
		}
		bad.Add(field, "%v", err)
	}
	if len(req.GetLabel()) > maxLabelLen {
		bad.Add("label", "must be at most %d characters", maxLabelLen)
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	secret, rec, err := a.People.Create(ctx, keystore.Record{Org: p.Org, Team: req.GetRoleTeamId(), Role: req.GetRole(),
		Label: req.GetLabel(), CreatedBy: p.KeyID}, a.Now())
	if err != nil {
		return nil, unavailable(err)
	}
	a.Ring.AddHash(auth.Hash(secret), rec.Principal())
	return &v1.CreateAccessKeyResponse{Key: accessProto(rec), Secret: secret}, nil
}

// RevokeAccessKey revokes an access key of the owner's organisation.
func (a *Admin) RevokeAccessKey(ctx context.Context, req *v1.RevokeAccessKeyRequest) (*v1.RevokeAccessKeyResponse, error) {
	p, err := owner(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := a.revoke(ctx, a.People, p.Org, req.GetKeyId(), "access key")
	if err != nil {
		return nil, err
	}
	return &v1.RevokeAccessKeyResponse{Key: accessProto(rec)}, nil
}

// ListAccessKeys lists the organisation's access keys without their
// secrets, oldest first, a page at a time.
func (a *Admin) ListAccessKeys(ctx context.Context, req *v1.ListAccessKeysRequest) (*v1.ListAccessKeysResponse, error) {
	p, err := owner(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	page := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(),
		"ListAccessKeys", p.Org, strconv.FormatBool(req.GetIncludeRevoked()))
	if err := bad.Err(); err != nil {
		return nil, err
	}
	recs, err := a.People.List(ctx, p.Org)
	if err != nil {
		return nil, unavailable(err)
	}
	recs = slices.DeleteFunc(recs, func(r keystore.Record) bool { return r.RevokedAt != nil && !req.GetIncludeRevoked() })
	slices.SortFunc(recs, func(a, b keystore.Record) int { return strings.Compare(pageKey(a), pageKey(b)) })
	recs, next := grpcserver.PageSlice(page, recs, pageKey)
	resp := &v1.ListAccessKeysResponse{NextPageToken: next}
	for _, r := range recs {
		resp.Keys = append(resp.Keys, accessProto(r))
	}
	return resp, nil
}

func accessProto(r keystore.Record) *v1.AccessKey {
	k := &v1.AccessKey{KeyId: r.KeyID, Role: r.Role, RoleTeamId: r.Team, Label: r.Label, CreatedBy: r.CreatedBy,
		CreatedAt: timestamppb.New(r.CreatedAt)}
	if r.RevokedAt != nil {
		k.RevokedAt = timestamppb.New(*r.RevokedAt)
	}
	return k
}
