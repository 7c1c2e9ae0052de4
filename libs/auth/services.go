package auth

import "strings"

// The tokenmeter services that call others, each with its own service key.
const (
	ServiceIngestion = "ingestion"
	ServiceReporting = "reporting"
	ServiceLedger    = "ledger"
)

func knownService(name string) bool {
	switch name {
	case ServiceIngestion, ServiceReporting, ServiceLedger:
		return true
	}
	return false
}

// ServiceOf is the policy role of one service's key: a policy listing it lets
// that service's key make the call and no other service's. (Plain
// RoleService in a policy admits every service key.)
func ServiceOf(name string) Role { return Role(string(RoleService) + ":" + name) }

// grantedBy says whether a policy entry admits p. It builds no string:
// it runs on every call.
func (p Principal) grantedBy(r Role) bool {
	if r == p.Role {
		return true
	}
	if p.Role != RoleService || p.Service == "" {
		return false
	}
	name, ok := strings.CutPrefix(string(r), string(RoleService)+":")
	return ok && name == p.Service
}
