package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// SetProductRate sets a product's daily rate from a time on (default now).
func (l *Ledger) SetProductRate(ctx context.Context, req *v1.SetProductRateRequest) (*v1.SetProductRateResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	now := l.Now()
	if err := checkSetProductRate(req, now); err != nil {
		return nil, err
	}
	from := req.GetEffectiveFrom()
	if from == nil {
		from = timestamppb.New(now)
	}
	name := req.GetName()
	if name == "" {
		name = req.GetProductCode()
	}
	ev := &v1.Event{EventId: req.GetEventId(), OrgId: p.Org, ServerTime: timestamppb.New(now), Actor: actorOf(p),
		Payload: &v1.Event_ProductRateSet{ProductRateSet: &v1.ProductRateSet{
			ProductCode: req.GetProductCode(), Name: name, Group: req.GetGroup(),
			DailyRate: req.GetDailyRate(), EffectiveFrom: from,
		}}}
	// A retry of a rate already folded sets nothing again; one still in
	// flight is a duplicate the log drops (its message id is the event id).
	if _, done := l.Catalogs.Get(p.Org).Applied(req.GetEventId()); !done {
		if err := l.appendCatalog(ctx, p.Org, ev); err != nil {
			return nil, statusOf(err)
		}
	}
	// The log drops any event whose id it stored lately, on any subject: the
	// rate is set only if the catalog now holds it under this id.
	if code, _ := l.Catalogs.Get(p.Org).Applied(req.GetEventId()); code != req.GetProductCode() {
		return nil, statusOf(pool.ErrEventIDReused)
	}
	return &v1.SetProductRateResponse{Product: productOf(pool.Product{
		Code: req.GetProductCode(), Name: name, Group: req.GetGroup(), DailyRate: req.GetDailyRate(), EffectiveFrom: from.AsTime(),
	})}, nil
}

// ListProducts lists the organisation's products at their current rates,
// sorted by code, a page at a time (the token holds the last code).
func (l *Ledger) ListProducts(ctx context.Context, req *v1.ListProductsRequest) (*v1.ListProductsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	pg := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(), "products", p.Org)
	if err := bad.Err(); err != nil {
		return nil, err
	}
	products, next := grpcserver.PageSlice(pg, l.Catalogs.Get(p.Org).Current(l.Now()), func(pr pool.Product) string { return pr.Code })
	resp := &v1.ListProductsResponse{NextPageToken: next}
	for _, pr := range products {
		resp.Products = append(resp.Products, productOf(pr))
	}
	return resp, nil
}

func productOf(pr pool.Product) *v1.Product {
	return &v1.Product{ProductCode: pr.Code, Name: pr.Name, Group: pr.Group, DailyRate: pr.DailyRate,
		EffectiveFrom: timestamppb.New(pr.EffectiveFrom)}
}
