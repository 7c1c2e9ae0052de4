package server

import (
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

func FuzzCheckGrantSubscription(f *testing.F) {
	fuzzValidator(f, func(r *v1.GrantSubscriptionRequest) error { return checkGrant(r, fuzzNow) }, func(t *testing.T, r *v1.GrantSubscriptionRequest) {
		inRange(t, "product_codes", int64(len(r.GetProductCodes())), 1, pool.MaxProductsPerUser)
		inRange(t, "reason", int64(len(r.GetReason())), 0, pool.MaxReasonLen)
		if r.GetEndsAt() != nil && pool.CheckTime("ends_at", r.GetEndsAt().AsTime(), fuzzNow) != nil {
			t.Fatalf("an end beyond 100 years accepted: %v", r.GetEndsAt())
		}
	},
		&v1.GrantSubscriptionRequest{EventId: "sub-0001-abcd", TeamId: "design", UserId: "ann", ProductCodes: []string{"REVIT"}},
		&v1.GrantSubscriptionRequest{EventId: "sub-0002-abcd", TeamId: "design", UserId: "ann", ProductCodes: []string{"*", "a.b"},
			EndsAt: &timestamppb.Timestamp{Seconds: math.MaxInt64}, Reason: strings.Repeat("r", 600)},
		&v1.GrantSubscriptionRequest{TeamId: "design.*", UserId: ""},
	)
}

func FuzzCheckRevokeSubscription(f *testing.F) {
	fuzzValidator(f, checkRevoke, func(t *testing.T, r *v1.RevokeSubscriptionRequest) {
		inRange(t, "product_codes", int64(len(r.GetProductCodes())), 0, pool.MaxProductsPerUser)
	},
		&v1.RevokeSubscriptionRequest{EventId: "unsub-0001", TeamId: "design", UserId: "ann"},
		&v1.RevokeSubscriptionRequest{EventId: "unsub-0002", TeamId: "design", UserId: "ann", ProductCodes: []string{"REVIT", "x y"}},
	)
}
