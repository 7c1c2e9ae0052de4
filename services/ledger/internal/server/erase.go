package server

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launchrules"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// EraseUser erases a user's personal data: UserErased on the organisation's
// catalog subject (the record, with its actor), then the user's profile key
// deleted. The key is deleted on every call, so a retry after a failed
// deletion finishes the erasure; erasing twice answers the first erasure.
func (l *Ledger) EraseUser(ctx context.Context, req *v1.EraseUserRequest) (*v1.EraseUserResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	bad.Check("user_id", eventlog.CheckID("user_id", req.GetUserId()))
	launchrules.CheckText(&bad, "reason", req.GetReason(), MaxReasonLen)
	if err := bad.Err(); err != nil {
		return nil, err
	}
	e, done := l.Settings.Erased(p.Org, req.GetUserId())
	if !done {
		ev := &v1.Event{EventId: req.GetEventId(), Type: "user_erased", OrgId: p.Org,
			ServerTime: timestamppb.New(l.Now()), Actor: actorOf(p),
			Payload: &v1.Event_UserErased{UserErased: &v1.UserErased{UserId: req.GetUserId(), Reason: req.GetReason()}}}
		if err := l.recordOrgEvent(ctx, ev); err != nil {
			return nil, err
		}
		if e, done = l.Settings.Erased(p.Org, req.GetUserId()); !done {
			return nil, statusOf(pool.ErrEventIDReused) // the id named another event
		}
	}
	if err := l.PersonKeys.Erase(ctx, p.Org, req.GetUserId()); err != nil {
		return nil, statusOf(fmt.Errorf("%w: %w", eventlog.ErrUnavailable, err))
	}
	return &v1.EraseUserResponse{ErasedAt: timestamppb.New(e.At), Actor: e.Actor}, nil
}

// sealProfile seals the profile of req under its user's key: the log never
// holds a name or an address in plain text. Clearing seals nothing.
func (l *Ledger) sealProfile(ctx context.Context, org string, req *v1.SetUserProfileRequest) (*v1.UserProfileSet, error) {
	out := &v1.UserProfileSet{UserId: req.GetUserId()}
	if _, gone := l.Settings.Erased(org, req.GetUserId()); gone {
		return nil, status.Error(codes.FailedPrecondition, "user_id was erased: an erased user is shown by pseudonym only and takes no profile")
	}
	if req.GetDisplayName() == "" && req.GetEmail() == "" {
		return out, nil
	}
	sealed, keyID, err := l.PersonKeys.Seal(ctx, org, req.GetUserId(),
		privacy.Profile{DisplayName: req.GetDisplayName(), Email: req.GetEmail()})
	if err != nil {
		return nil, statusOf(fmt.Errorf("%w: %w", eventlog.ErrUnavailable, err))
	}
	out.Sealed, out.KeyId = sealed, keyID
	return out, nil
}
