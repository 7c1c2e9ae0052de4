// Package planstore keeps the planned projects admins record: reporting's
// own store (a ClickHouse table of protobuf events), since no other service
// reads them and they move no tokens.
package planstore

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// MaxEventsPerTeam bounds the events one team's fold reads; a team that
// recorded more is refused further changes (see Store.Events).
const MaxEventsPerTeam = 10000

// Store appends and reads planned-project events.
type Store struct {
	conn driver.Conn
}

// New returns a store on conn's database (migration 12 holds its table).
func New(conn driver.Conn) *Store { return &Store{conn: conn} }

const insert = "INSERT INTO planned_project_events (org_id, team_id, event_id, plan_id, kind, at, at_ns, actor, event)"

// Append records ev, a PlannedProjectAdded or PlannedProjectRemoved event.
func (s *Store) Append(ctx context.Context, ev *v1.Event) error {
	planID, kind := ev.GetEventId(), "added"
	if r := ev.GetPlannedProjectRemoved(); r != nil {
		planID, kind = r.GetPlanId(), "removed"
	} else if ev.GetPlannedProjectAdded() == nil {
		return fmt.Errorf("append plan event: %s is not a plan event", ev.GetType())
	}
	raw, err := proto.Marshal(ev)
	if err != nil {
		return fmt.Errorf("append plan event: %w", err)
	}
	at := ev.GetServerTime().AsTime().UTC()
	batch, err := s.conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("append plan event: %w", err)
	}
	actor := ev.GetActor().GetKind() + ":" + ev.GetActor().GetId()
	if err := batch.Append(ev.GetOrgId(), ev.GetTeamId(), ev.GetEventId(), planID, kind, at, at.UnixNano(), actor, string(raw)); err != nil {
		_ = batch.Abort()
		return fmt.Errorf("append plan event: %w", err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("append plan event: %w", err)
	}
	return nil
}

// Events returns one team's plan events in the order they were recorded,
// at most MaxEventsPerTeam + 1 (more says the team is full).
func (s *Store) Events(ctx context.Context, org, team string) ([]*v1.Event, error) {
	rows, err := s.conn.Query(ctx, `SELECT event FROM planned_project_events
WHERE org_id = ? AND team_id = ?
ORDER BY at_ns, event_id
LIMIT ?`, org, team, MaxEventsPerTeam+1)
	if err != nil {
		return nil, fmt.Errorf("plan events: %w", err)
	}
	defer rows.Close()
	var out []*v1.Event
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("plan events: %w", err)
		}
		ev := &v1.Event{}
		if err := proto.Unmarshal([]byte(raw), ev); err != nil {
			return nil, fmt.Errorf("plan events: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("plan events: %w", err)
	}
	return out, nil
}
