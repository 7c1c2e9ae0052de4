package server

import (
	"context"
	"net/mail"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launchrules"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// MaxReasonLen bounds the reason of a personal-data setting.
const MaxReasonLen = 256

// SetPersonalData records the organisation's personal-data setting on its
// catalog subject, with the owner who set it, and answers once this
// replica's settings hold it (every service follows the same subject).
func (l *Ledger) SetPersonalData(ctx context.Context, req *v1.SetPersonalDataRequest) (*v1.SetPersonalDataResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	launchrules.CheckText(&bad, "reason", req.GetReason(), MaxReasonLen)
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if set, _ := l.Settings.Get(p.Org); set.EventID != req.GetEventId() {
		ev := &v1.Event{EventId: req.GetEventId(), Type: "personal_data_set", OrgId: p.Org,
			ServerTime: timestamppb.New(l.Now()), Actor: actorOf(p),
			Payload: &v1.Event_PersonalDataSet{PersonalDataSet: &v1.PersonalDataSet{Show: req.GetShow(), Reason: req.GetReason()}}}
		if err := l.recordOrgEvent(ctx, ev); err != nil {
			return nil, err
		}
	}
	set, _ := l.Settings.Get(p.Org)
	if set.EventID != req.GetEventId() {
		return nil, statusOf(pool.ErrEventIDReused)
	}
	return &v1.SetPersonalDataResponse{Setting: settingOf(set, true)}, nil
}

// GetPersonalData returns the organisation's personal-data setting.
func (l *Ledger) GetPersonalData(ctx context.Context, _ *v1.GetPersonalDataRequest) (*v1.GetPersonalDataResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	set, ok := l.Settings.Get(p.Org)
	return &v1.GetPersonalDataResponse{Setting: settingOf(set, ok)}, nil
}

func settingOf(set privacy.Setting, ok bool) *v1.PersonalDataSetting {
	if !ok {
		return &v1.PersonalDataSetting{}
	}
	return &v1.PersonalDataSetting{Show: set.Show, SetAt: timestamppb.New(set.At), Actor: set.Actor, Reason: set.Reason}
}

// Bounds of a user's profile.
const (
	MaxDisplayName = 128
	MaxEmail       = 254
)

// SetUserProfile records a user's display name and e-mail address, sealed
// under the user's key, on the organisation's catalog subject. Setting the same again changes nothing a
// reader sees, so a retry past the log's duplicate window is harmless.
func (l *Ledger) SetUserProfile(ctx context.Context, req *v1.SetUserProfileRequest) (*v1.SetUserProfileResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkUserProfile(req); err != nil {
		return nil, err
	}
	set, err := l.sealProfile(ctx, p.Org, req)
	if err != nil {
		return nil, err
	}
	ev := &v1.Event{EventId: req.GetEventId(), Type: "user_profile_set", OrgId: p.Org,
		ServerTime: timestamppb.New(l.Now()), Actor: actorOf(p),
		Payload: &v1.Event_UserProfileSet{UserProfileSet: set}}
	stream, ack, err := l.appendOrgEvent(ctx, p.Org, ev)
	if err != nil {
		return nil, statusOf(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = l.Settings.WaitFor(wctx, stream, ack.Sequence)
	return &v1.SetUserProfileResponse{}, nil
}

func checkUserProfile(req *v1.SetUserProfileRequest) error {
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	bad.Check("user_id", eventlog.CheckID("user_id", req.GetUserId()))
	launchrules.CheckText(&bad, "display_name", req.GetDisplayName(), MaxDisplayName)
	if e := req.GetEmail(); len(e) > MaxEmail {
		bad.Add("email", "must be at most %d characters", MaxEmail)
	} else if e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			bad.Add("email", "must be one plain address, e.g. ann@example.com")
		}
	}
	return bad.Err()
}

// recordOrgEvent appends ev on its organisation's catalog subject and waits
// until this replica's settings have read it back, so the answer shows it.
// A duplicate's sequence may be on another subject the settings never read:
// the wait then ends at its bound and the caller's check of the recorded
// event id decides. A new event not read back in time is DeadlineExceeded:
// a retry with the same id finds it.
func (l *Ledger) recordOrgEvent(ctx context.Context, ev *v1.Event) error {
	stream, ack, err := l.appendOrgEvent(ctx, ev.GetOrgId(), ev)
	if err != nil {
		return statusOf(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := l.Settings.WaitFor(wctx, stream, ack.Sequence); err != nil && !ack.Duplicate {
		return statusOf(err)
	}
	return nil
}
