package forecast

import "time"

// PlanEvent is one recorded change to a team's planned projects: a plan
// added (Plan set, PlanID its id) or removed (Removed, PlanID).
type PlanEvent struct {
	EventID string
	PlanID  string
	Removed bool
	Plan    Plan
	At      time.Time
	Actor   string
}

// PlanRecord is a plan in force with who added it and when.
type PlanRecord struct {
	Plan    Plan
	AddedAt time.Time
	AddedBy string
	EventID string
}

// FoldPlans returns the plans in force after events (in the order they were
// recorded), in the order they were added. An event id seen before is
// ignored, so a retried write that landed twice changes nothing; removing a
// plan that is not in force changes nothing either.
func FoldPlans(events []PlanEvent) []PlanRecord {
	seen := make(map[string]bool, len(events))
	var out []PlanRecord
	for _, e := range events {
		if seen[e.EventID] {
			continue
		}
		seen[e.EventID] = true
		i := indexOfPlan(out, e.PlanID)
		switch {
		case e.Removed && i >= 0:
			out = append(out[:i], out[i+1:]...)
		case !e.Removed && i < 0:
			p := e.Plan
			p.ID = e.PlanID
			out = append(out, PlanRecord{Plan: p, AddedAt: e.At, AddedBy: e.Actor, EventID: e.EventID})
		}
	}
	return out
}

// FindEvent is the event recorded with id, if any.
func FindEvent(events []PlanEvent, id string) (PlanEvent, bool) {
	for _, e := range events {
		if e.EventID == id {
			return e, true
		}
	}
	return PlanEvent{}, false
}

func indexOfPlan(plans []PlanRecord, id string) int {
	for i, p := range plans {
		if p.Plan.ID == id {
			return i
		}
	}
	return -1
}
