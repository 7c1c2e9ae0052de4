package pool

import (
	"fmt"
	"maps"
	"sort"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Product is a product's rate as of a time.
type Product struct {
	Code, Name, Group string
	DailyRate         int64
	EffectiveFrom     time.Time
}

// Catalog is an organisation's products with effective-dated rates, folded
// from ProductRateSet events. A rate change applies to windows opened after it.
type Catalog struct {
	rates map[string][]Product // per code, by EffectiveFrom
	// ids are the rate events folded, with their product codes: a retried
	// SetProductRate sets nothing again.
	ids map[string]string
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog { return &Catalog{rates: map[string][]Product{}, ids: map[string]string{}} }

// Apply folds a ProductRateSet event; other events are ignored. A rate out
// of bounds is refused (ErrRefused): the product keeps its rates, and the
// event id is remembered.
func (c *Catalog) Apply(ev *v1.Event) error {
	e := ev.GetProductRateSet()
	if e == nil {
		return nil
	}
	if ev.GetEventId() != "" {
		c.ids[ev.GetEventId()] = e.GetProductCode()
	}
	if err := CheckRange("daily_rate", e.GetDailyRate(), 1, MaxDailyRate); err != nil {
		return fmt.Errorf("fold %s: %w: %w", ev.GetEventId(), ErrRefused, err)
	}
	p := Product{
		Code: e.GetProductCode(), Name: e.GetName(), Group: e.GetGroup(),
		DailyRate: e.GetDailyRate(), EffectiveFrom: e.GetEffectiveFrom().AsTime(),
	}
	list := append(c.rates[p.Code], p)
	sort.SliceStable(list, func(i, j int) bool { return list[i].EffectiveFrom.Before(list[j].EffectiveFrom) })
	c.rates[p.Code] = list
	return nil
}

// Applied returns the product code a rate event id set, if it was folded.
func (c *Catalog) Applied(eventID string) (string, bool) {
	if c == nil {
		return "", false
	}
	code, ok := c.ids[eventID]
	return code, ok
}

// At returns the product as priced at t; ok is false when the product is
// unknown or has no rate in effect yet.
func (c *Catalog) At(code string, t time.Time) (Product, bool) {
	if c == nil {
		return Product{}, false
	}
	list := c.rates[code]
	for i := len(list) - 1; i >= 0; i-- {
		if !list[i].EffectiveFrom.After(t) {
			return list[i], true
		}
	}
	return Product{}, false
}

// Current lists every product at its rate in effect at t (or its first future
// rate), sorted by code.
func (c *Catalog) Current(t time.Time) []Product {
	var out []Product
	for code, list := range c.rates {
		if p, ok := c.At(code, t); ok {
			out = append(out, p)
		} else if len(list) > 0 {
			out = append(out, list[0])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// With returns a copy of the catalog with ev folded in; the original is left
// untouched, so readers may hold it without locks.
func (c *Catalog) With(ev *v1.Event) *Catalog {
	next := NewCatalog()
	for code, list := range c.rates {
		next.rates[code] = append([]Product(nil), list...)
	}
	maps.Copy(next.ids, c.ids)
	_ = next.Apply(ev) // a refused rate changes nothing but the ids
	return next
}
