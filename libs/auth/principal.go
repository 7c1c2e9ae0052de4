// Package auth authenticates callers of tokenmeter's gRPC services and carries
// who they are (organisation, team, role) through the context.
package auth

import (
	"context"
	"errors"
)

// Role is what a credential may do.
type Role string

const (
	// RoleLauncher is a team's launcher key: launch, heartbeat, end, quote for its team.
	RoleLauncher Role = "launcher"
	// RoleAdmin administers one organisation.
	RoleAdmin Role = "admin"
	// RoleService is another tokenmeter service acting for an organisation it names.
	RoleService Role = "service"
)

// Principal is an authenticated caller.
type Principal struct {
	KeyID string
	Org   string
	// Team is set for launcher keys: the only team they may name.
	Team string
	Role Role
	// Service names the tokenmeter service a service key belongs to
	// (ingestion, reporting, ledger): it may make only that service's calls.
	Service string
}

// AnyTeam as a launcher key's team lets it launch for every team of its
// organisation (a launcher gateway).
const AnyTeam = "*"

// Errors the interceptor maps to gRPC codes.
var (
	ErrUnauthenticated = errors.New("missing, unknown or revoked credential")
	ErrPermission      = errors.New("credential may not do this")
)

type principalKey struct{}

// principalCtx carries a principal: one allocation per call, where
// context.WithValue takes two (the context and the boxed Principal).
type principalCtx struct {
	context.Context
	p Principal
}

func (c *principalCtx) Value(key any) any {
	if key == (principalKey{}) {
		return &c.p
	}
	return c.Context.Value(key)
}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return &principalCtx{Context: ctx, p: p}
}

// FromContext returns the caller; ok is false for unauthenticated contexts.
func FromContext(ctx context.Context) (Principal, bool) {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok {
		return *p, true
	}
	return Principal{}, false
}

// CheckTeam returns ErrPermission when the caller may not act on team.
// Launcher keys are bound to one team; admins and services to an organisation,
// which confines them already since every subject is scoped by organisation.
func (p Principal) CheckTeam(team string) error {
	if p.Role == RoleLauncher && p.Team != team && p.Team != AnyTeam {
		return ErrPermission
	}
	return nil
}

// describe names the kind of key p is, for refusals.
func (p Principal) describe() string {
	if p.Role == RoleService && p.Service != "" {
		return p.Service + " service"
	}
	return string(p.Role)
}
