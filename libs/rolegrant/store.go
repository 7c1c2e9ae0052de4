// Package rolegrant keeps the owners' grants of console roles to people's
// claims (an e-mail address, a group) in the ROLE_GRANTS JetStream KV
// bucket, one protobuf-encoded v1.RoleGrant a grant under "<org>.<grant id>":
// ingestion writes it through its RPCs, the console follows it (Index) to
// sign people in and to end their sessions when a grant is revoked.
package rolegrant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Bucket is the grants' bucket.
const Bucket = "ROLE_GRANTS"

// Limits of a grant and of an organisation's grants.
const (
	// MaxClaimValue bounds a claim value (an e-mail address has at most
	// 254 bytes, a subject or group name 255).
	MaxClaimValue = 255
	// MaxLivePerOrg bounds an organisation's live (unrevoked) grants.
	MaxLivePerOrg = 1000
)

var (
	// ErrNotFound means the organisation has no grant of that id.
	ErrNotFound = errors.New("no such grant")
	// ErrExists means a live grant already gives that claim value that role.
	ErrExists = errors.New("a live grant already gives that claim value that role")
	// ErrTooMany means the organisation has MaxLivePerOrg live grants.
	ErrTooMany = fmt.Errorf("the organisation has %d live grants, the most it may", MaxLivePerOrg)
)

// CheckValue says what is wrong with a claim value of a claim ("" if nothing).
func CheckValue(claim v1.GrantClaim, value string) string {
	switch {
	case value == "":
		return "must not be empty"
	case len(value) > MaxClaimValue:
		return fmt.Sprintf("must be at most %d bytes", MaxClaimValue)
	case !utf8.ValidString(value) || strings.ContainsFunc(value, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }):
		return "must be printable text without spaces"
	case claim == v1.GrantClaim_GRANT_CLAIM_EMAIL && !strings.Contains(strings.TrimPrefix(value, "@"), "@"):
		return "must be an e-mail address"
	}
	return ""
}

// Normal is the claim value as stored and compared: e-mail addresses in
// lower case (providers differ in the case they send), others as they are.
func Normal(claim v1.GrantClaim, value string) string {
	if claim == v1.GrantClaim_GRANT_CLAIM_EMAIL {
		return strings.ToLower(value)
	}
	return value
}

// Store creates, revokes and lists the grants.
type Store struct{ kv jetstream.KeyValue }

// Open provisions the bucket (idempotently), for its owner (ingestion).
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	kv, err := eventlog.OpenBucket(ctx, js, jetstream.KeyValueConfig{Bucket: Bucket,
		Description: "tokenmeter console role grants (protobuf tokenmeter.v1.RoleGrant)", History: 5, Replicas: max(replicas, 1)})
	if err != nil {
		return nil, err
	}
	return &Store{kv: kv}, nil
}

// Create stores a live grant like g (org, claim, value, role, team,
// creator) under a random id, unless the organisation has one giving that
// value that role, or MaxLivePerOrg. Two owners creating at once may pass
// the count together: the bound is of the order, not to the unit.
func (s *Store) Create(ctx context.Context, g *v1.RoleGrant, now time.Time) (*v1.RoleGrant, error) {
	live, err := s.List(ctx, g.GetOrgId())
	if err != nil {
		return nil, err
	}
	live = slices.DeleteFunc(live, func(r *v1.RoleGrant) bool { return r.GetRevokedAt() != nil })
	if len(live) >= maxLive {
		return nil, ErrTooMany
	}
	rec := proto.CloneOf(g)
	rec.ClaimValue = Normal(rec.GetClaim(), rec.GetClaimValue())
	if slices.ContainsFunc(live, func(r *v1.RoleGrant) bool { return same(r, rec) }) {
		return nil, ErrExists
	}
	rec.CreatedAt, rec.RevokedAt, rec.RevokedBy = timestamppb.New(now), nil, ""
	for range 3 {
		rec.GrantId = auth.NewKeyID()
		data, err := proto.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("encode grant: %w", err)
		}
		_, err = s.kv.Create(ctx, key(rec.GetOrgId(), rec.GetGrantId()), data)
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // an id collision: draw again
		}
		if err != nil {
			return nil, fmt.Errorf("store grant: %w", err)
		}
		return rec, nil
	}
	return nil, errors.New("store grant: grant ids kept colliding")
}

func same(a, b *v1.RoleGrant) bool {
	return a.GetClaim() == b.GetClaim() && a.GetClaimValue() == b.GetClaimValue() &&
		a.GetRole() == b.GetRole() && a.GetRoleTeamId() == b.GetRoleTeamId()
}

// Revoke marks the grant revoked by actor; revoking twice answers the first revocation.
func (s *Store) Revoke(ctx context.Context, org, id, actor string, now time.Time) (*v1.RoleGrant, error) {
	for {
		entry, err := s.kv.Get(ctx, key(org, id))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("read grant %s: %w", id, err)
		}
		rec := &v1.RoleGrant{}
		if err := proto.Unmarshal(entry.Value(), rec); err != nil {
			return nil, fmt.Errorf("decode grant %s: %w", id, err)
		}
		if rec.GetRevokedAt() != nil {
			return rec, nil
		}
		rec.RevokedAt, rec.RevokedBy = timestamppb.New(now), actor
		data, err := proto.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("encode grant: %w", err)
		}
		_, err = s.kv.Update(ctx, entry.Key(), data, entry.Revision())
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // changed under us: read again
		}
		if err != nil {
			return nil, fmt.Errorf("revoke grant %s: %w", id, err)
		}
		return rec, nil
	}
}

// List returns the organisation's grants, revoked ones included, oldest first.
func (s *Store) List(ctx context.Context, org string) ([]*v1.RoleGrant, error) {
	w, err := s.kv.Watch(ctx, org+".*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defer func() { _ = w.Stop() }()
	var out []*v1.RoleGrant
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list grants: %w", ctx.Err())
		case entry := <-w.Updates():
			if entry == nil {
				slices.SortFunc(out, Older)
				return out, nil
			}
			rec := &v1.RoleGrant{}
			if err := proto.Unmarshal(entry.Value(), rec); err != nil {
				return nil, fmt.Errorf("decode grant %s: %w", entry.Key(), err)
			}
			out = append(out, rec)
		}
	}
}

// Older orders grants by creation, then id.
func Older(a, b *v1.RoleGrant) int {
	if c := a.GetCreatedAt().AsTime().Compare(b.GetCreatedAt().AsTime()); c != 0 {
		return c
	}
	return strings.Compare(a.GetGrantId(), b.GetGrantId())
}

// maxLive is MaxLivePerOrg; tests lower it.
var maxLive = MaxLivePerOrg

func key(org, id string) string { return org + "." + id }
