package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Bucket holds the schedules ("s.<org>.<id>": the event that set or deleted
// one, with its actor) and how far each one's deliveries went ("p.<org>.<id>").
const Bucket = "REPORT_SCHEDULES"

// Errors of the store.
var (
	ErrNotFound = errors.New("no such schedule")
	ErrExists   = errors.New("a schedule with this id exists")
	// ErrClaimed: another replica (or an earlier run) claimed the period first.
	ErrClaimed = errors.New("period already claimed")
)

// Store is the REPORT_SCHEDULES bucket.
type Store struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

// Open creates the bucket when it is missing (replicas 0 means 1).
func Open(ctx context.Context, js jetstream.JetStream, replicas int, now func() time.Time) (*Store, error) {
	kv, err := eventlog.OpenBucket(ctx, js, jetstream.KeyValueConfig{Bucket: Bucket, Replicas: max(replicas, 1), History: 5,
		Description: "tokenmeter report schedules s.<org>.<id> and their last period sent p.<org>.<id>"})
	if err != nil {
		return nil, fmt.Errorf("provision bucket %s: %w", Bucket, err)
	}
	return &Store{kv: kv, now: now}, nil
}

// Entry is one live schedule of an organisation.
type Entry struct {
	Org      string
	Schedule *v1.ReportSchedule
}

func (s *Store) event(org string, actor *v1.Actor, typ string) *v1.Event {
	return &v1.Event{EventId: fmt.Sprintf("%s-%d", typ, s.now().UnixNano()), Type: typ, OrgId: org,
		ServerTime: timestamppb.New(s.now()), Actor: actor}
}

// Create records a new schedule, set by actor; an id in use is ErrExists.
func (s *Store) Create(ctx context.Context, org string, sch *v1.ReportSchedule, actor *v1.Actor) error {
	ev := s.event(org, actor, "report_schedule_set")
	ev.Payload = &v1.Event_ReportScheduleSet{ReportScheduleSet: &v1.ReportScheduleSet{Schedule: sch}}
	data, err := proto.Marshal(ev)
	if err != nil {
		return err
	}
	key := "s." + org + "." + sch.GetScheduleId()
	_, err = s.kv.Create(ctx, key, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		// A deleted schedule's id may be taken again: its tombstone is replaced.
		e, gerr := s.kv.Get(ctx, key)
		if gerr != nil {
			return gerr
		}
		if old, _ := decode(e.Value()); old.GetReportScheduleSet() != nil {
			return ErrExists
		}
		_, err = s.kv.Update(ctx, key, data, e.Revision())
	}
	return err
}

// Delete replaces a schedule with the event that deleted it, by actor.
func (s *Store) Delete(ctx context.Context, org, id string, actor *v1.Actor) error {
	key := "s." + org + "." + id
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if old, _ := decode(e.Value()); old.GetReportScheduleSet() == nil {
		return ErrNotFound
	}
	ev := s.event(org, actor, "report_schedule_deleted")
	ev.Payload = &v1.Event_ReportScheduleDeleted{ReportScheduleDeleted: &v1.ReportScheduleDeleted{ScheduleId: id}}
	data, err := proto.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = s.kv.Update(ctx, key, data, e.Revision())
	return err
}

// List returns org's live schedules (every organisation's when org is "*"),
// each with its last delivery.
func (s *Store) List(ctx context.Context, org string) ([]Entry, error) {
	entries, err := watchAll(ctx, s.kv, "s."+org+".*")
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range entries {
		ev, err := decode(e.Value())
		sch := ev.GetReportScheduleSet().GetSchedule()
		if err != nil || sch == nil {
			continue // deleted
		}
		sch.CreatedBy = ev.GetActor().GetId()
		sch.CreatedAt = ev.GetServerTime()
		entry := Entry{Org: ev.GetOrgId(), Schedule: sch}
		if sent, _, err := s.Progress(ctx, entry.Org, sch.GetScheduleId()); err == nil && sent != nil {
			sch.LastPeriod, sch.LastAt, sch.LastError = sent.GetPeriod(), sent.GetAt(), sent.GetError()
			sch.LastState = strings.ToLower(strings.TrimPrefix(sent.GetState().String(), "REPORT_SENT_STATE_"))
		}
		out = append(out, entry)
	}
	return out, nil
}

// Progress is the last period claimed for a schedule and its revision (nil, 0: none yet).
func (s *Store) Progress(ctx context.Context, org, id string) (*v1.ReportSent, uint64, error) {
	e, err := s.kv.Get(ctx, "p."+org+"."+id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	ev, err := decode(e.Value())
	if err != nil {
		return nil, 0, err
	}
	return ev.GetReportSent(), e.Revision(), nil
}

// Claim writes sent over the progress at rev (0: none yet), so that of two
// claims of one period only the first succeeds (ErrClaimed); it returns
// the new revision.
func (s *Store) Claim(ctx context.Context, org string, sent *v1.ReportSent, rev uint64) (uint64, error) {
	ev := s.event(org, &v1.Actor{Kind: "system", Id: "report-scheduler"}, "report_sent")
	ev.Payload = &v1.Event_ReportSent{ReportSent: sent}
	data, err := proto.Marshal(ev)
	if err != nil {
		return 0, err
	}
	key := "p." + org + "." + sent.GetScheduleId()
	if rev == 0 {
		rev, err = s.kv.Create(ctx, key, data)
	} else {
		rev, err = s.kv.Update(ctx, key, data, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
		return 0, ErrClaimed
	}
	return rev, err
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

func decode(b []byte) (*v1.Event, error) {
	ev := &v1.Event{}
	return ev, proto.Unmarshal(b, ev)
}

// watchAll returns every live entry whose key matches filter.
func watchAll(ctx context.Context, kv jetstream.KeyValue, filter string) ([]jetstream.KeyValueEntry, error) {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", filter, err)
	}
	defer func() { _ = w.Stop() }()
	var out []jetstream.KeyValueEntry
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return out, fmt.Errorf("list %s: watcher closed", filter)
			}
			if e == nil {
				return out, nil
			}
			out = append(out, e)
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
}
