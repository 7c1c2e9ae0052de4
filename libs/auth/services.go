package auth

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

// grants says whether a policy entry admits p.
func (p Principal) grantedBy(r Role) bool {
	return r == p.Role || (p.Role == RoleService && p.Service != "" && r == ServiceOf(p.Service))
}
