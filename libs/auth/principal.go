// Package auth authenticates callers of tokenmeter's gRPC services and carries
// who they are (organisation, team, role) through the context.
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// Role is what a credential may do.
type Role string

const (
	// RoleLauncher is a team's launcher key: launch, heartbeat, end, quote for its team.
	RoleLauncher Role = "launcher"
	// RoleOwner may do everything in one organisation, keys and roles included.
	RoleOwner Role = "owner"
	// RoleAdmin administers one organisation: packs, users, rules, webhooks.
	RoleAdmin Role = "admin"
	// RoleViewer reads one organisation's reports, balances and alerts, and changes nothing.
	RoleViewer Role = "viewer"
	// RoleTeamAdmin administers one team: its users and packs, and reads its reports.
	RoleTeamAdmin Role = "team-admin"
	// RoleService is another tokenmeter service acting for an organisation it names.
	RoleService Role = "service"
)

// PeopleRoles are the roles a person (or a person's key) may hold, most
// powerful first.
var PeopleRoles = []Role{RoleOwner, RoleAdmin, RoleViewer, RoleTeamAdmin}

// ParseRole reads a person's role; team-admin needs a team, the others none.
func ParseRole(role, team string) (Role, error) {
	r := Role(role)
	switch {
	case !slices.Contains(PeopleRoles, r):
		return "", fmt.Errorf("unknown role %s (owner, admin, viewer or team-admin)", quote.Prefix(role))
	case r == RoleTeamAdmin && !eventlog.ValidID(team):
		return "", fmt.Errorf("a team-admin needs a team id")
	case r != RoleTeamAdmin && team != "":
		return "", fmt.Errorf("a %s has no team", r)
	}
	return r, nil
}

// PersonPrincipal is the principal of a person signed in another way than
// with a key (the console's single sign-on): role and team as ParseRole
// takes them, id naming the person in actors (e.g. "sso:<subject>").
func PersonPrincipal(org, role, team, id string) (Principal, error) {
	if !eventlog.ValidID(org) {
		return Principal{}, fmt.Errorf("organisation %s must be an id", quote.Prefix(org))
	}
	r, err := ParseRole(role, team)
	if err != nil {
		return Principal{}, err
	}
	return Principal{KeyID: id, Org: org, Team: team, Role: r}, nil
}

// Principal is an authenticated caller.
type Principal struct {
	KeyID string
	Org   string
	// Team is set for launcher keys and team admins: the only team they may name.
	Team string
	Role Role
	// Service names the tokenmeter service a service key belongs to
	// (ingestion, reporting, ledger): it may make only that service's calls.
	Service string
	// Expires ends the credential by itself (zero: it lasts until revoked).
	Expires time.Time
}

// PersonPrefix starts the id of a person signed in through single sign-on,
// in place of a key id in actors ("sso:ann@example.com", "sso:u_…").
const PersonPrefix = "sso:"

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
// Launcher keys and team admins are bound to one team; others to an organisation,
// which confines them already since every subject is scoped by organisation.
func (p Principal) CheckTeam(team string) error {
	if (p.Role == RoleLauncher || p.Role == RoleTeamAdmin) && p.Team != team && p.Team != AnyTeam {
		return ErrPermission
	}
	return nil
}

// describe names the kind of key p is, for refusals: "a viewer key".
func (p Principal) describe() string {
	kind := string(p.Role)
	if p.Role == RoleService && p.Service != "" {
		kind = p.Service + " service"
	}
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind + " key"
	}
	return "a " + kind + " key"
}
