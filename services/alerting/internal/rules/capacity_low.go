package rules

import (
	"fmt"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Capacity kinds (DESIGN.md: capacity products).
const (
	CapacityExhaustible = "exhaustible"
	CapacityReturnable  = "returnable"
)

// CapacityReading is a capacity product's balance after a change. The ledger
// does not record capacity yet; when it does, its capacity events map onto
// this and the engine feeds them to ApplyCapacity.
type CapacityReading struct {
	Org, Team   string
	ProductCode string
	// Kind is CapacityExhaustible or CapacityReturnable.
	Kind             string
	Available, Total int64
	At               time.Time
}

// ApplyCapacity raises capacity_low once when a capacity product's available
// units fall to the threshold share of its total or below (the red status at
// 20 %), and re-arms when they rise above again (a monthly refresh, units
// returned, capacity bought).
func (r *Rules) ApplyCapacity(seq uint64, c CapacityReading) []*v1.Alert {
	if c.Total <= 0 {
		return nil
	}
	k := teamKey{c.Org, c.Team}
	t := r.teams[k]
	if t == nil {
		t = newTeam()
		r.teams[k] = t
	}
	cfg := r.of(k).Capacity
	low := float64(c.Available)*100 <= cfg.Percent*float64(c.Total)
	if !low || !cfg.Enabled {
		t.capacity[c.ProductCode] = t.capacity[c.ProductCode] && low
		return nil
	}
	if t.capacity[c.ProductCode] {
		return nil
	}
	t.capacity[c.ProductCode] = true
	p := percent(c.Available, c.Total)
	sev := v1.Severity_SEVERITY_WARNING
	if c.Available <= 0 {
		sev = v1.Severity_SEVERITY_CRITICAL
	}
	msg := fmt.Sprintf("Team %s has %d of %d %s units of %s available (%s %%)",
		c.Team, c.Available, c.Total, c.Kind, c.ProductCode, formatFloat(p))
	rs := raise{org: c.Org, team: c.Team, seq: seq, at: c.At}
	return []*v1.Alert{rs.alert(KindCapacityLow, sev, msg, map[string]float64{
		"available": float64(c.Available),
		"total":     float64(c.Total),
		"percent":   p,
		"threshold": cfg.Percent,
	}, c.ProductCode)}
}

// capacityReading turns the ledger's capacity events into a reading: each
// carries the product's figures right after it.
func capacityReading(ev *v1.Event) (CapacityReading, bool) {
	var (
		code string
		kind v1.CapacityKind
		fig  *v1.CapacityFigures
	)
	switch p := ev.GetPayload().(type) {
	case *v1.Event_CapacitySet:
		code, kind, fig = p.CapacitySet.GetProductCode(), p.CapacitySet.GetKind(), p.CapacitySet.GetCapacity()
	case *v1.Event_CapacityUsed:
		code, fig = p.CapacityUsed.GetProductCode(), p.CapacityUsed.GetCapacity()
		if p.CapacityUsed.GetCheckoutId() != "" {
			kind = v1.CapacityKind_CAPACITY_KIND_RETURNABLE
		} else {
			kind = v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE
		}
	case *v1.Event_CapacityReturned:
		code, kind, fig = p.CapacityReturned.GetProductCode(), v1.CapacityKind_CAPACITY_KIND_RETURNABLE, p.CapacityReturned.GetCapacity()
	default:
		return CapacityReading{}, false
	}
	k := CapacityExhaustible
	if kind == v1.CapacityKind_CAPACITY_KIND_RETURNABLE {
		k = CapacityReturnable
	}
	return CapacityReading{Org: ev.GetOrgId(), Team: ev.GetTeamId(), ProductCode: code, Kind: k,
		Available: fig.GetAvailable(), Total: fig.GetTotal(), At: ev.GetServerTime().AsTime()}, true
}
