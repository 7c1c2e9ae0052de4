package simulator

import (
	"context"
	"fmt"
	"net"

	"github.com/google/uuid"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Setup prepares the ledger for a plan with an admin client: the
// catalogue's rates, a pack of tokens per team, and every user assigned.
func Setup(ctx context.Context, ledger v1.LedgerServiceClient, cfg Config, tokensPerTeam int64) error {
	for _, p := range Products[:cfg.Products] {
		if _, err := ledger.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: p.Code, DailyRate: p.Rate}); err != nil {
			return fmt.Errorf("set rate %s: %w", p.Code, err)
		}
	}
	for i := range cfg.Teams {
		if _, err := ledger.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: TeamID(i), PackId: "simulator-" + TeamID(i), Tokens: tokensPerTeam}); err != nil {
			return fmt.Errorf("add pack %s: %w", TeamID(i), err)
		}
	}
	for _, u := range People(cfg) {
		if _, err := ledger.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: u.Team, UserId: u.ID, ProductCodes: u.Products}); err != nil {
			return fmt.Errorf("assign %s: %w", u.ID, err)
		}
	}
	return nil
}

// CheckLoopback refuses an address that is not on this machine: the
// simulator only ever talks to a local stack.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q: the simulator talks to loopback addresses only", addr)
	}
	return nil
}
