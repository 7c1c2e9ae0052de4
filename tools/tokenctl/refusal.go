package tokenctl

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/tokenmeter/tokenmeter/libs/access"
	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// deniedRole reads the interceptor's refusal: "a viewer key may not call /pkg.Service/Method".
var deniedRole = regexp.MustCompile(`^an? (.+) key may not call (/\S+)$`)

// leastFirst orders people's roles from the least a key may do to the most.
var leastFirst = []auth.Role{auth.RoleViewer, auth.RoleTeamAdmin, auth.RoleAdmin, auth.RoleOwner}

// permissionAdvice says, in one line, which role a refused call needs and
// whom to ask for a key of it; method is the call's full name ("" unknown).
func permissionAdvice(ep endpoint, method, msg string) string {
	role := ""
	if m := deniedRole.FindStringSubmatch(msg); m != nil {
		role, method = m[1], m[2]
	}
	rpc := path.Base(method)
	if rpc == "." || rpc == "/" {
		rpc = "the call"
	}
	if role == "" && strings.Contains(msg, "service key") {
		return fmt.Sprintf("%s refused %s: %s; a service key acts only for the organisations it was given: check --org or TOKENMETER_ORG, or use a person's key",
			ep.service, rpc, msg)
	}
	if role == "" {
		// Refused for the team or organisation it names, not for the role.
		return fmt.Sprintf("%s refused %s: %s; a team-admin key acts for its own team only: name that team, or ask an owner of your organisation for an admin key",
			ep.service, rpc, msg)
	}
	var may []string
	for _, r := range leastFirst {
		if slices.Contains(access.Policy[method], r) {
			may = append(may, string(r))
		}
	}
	if len(may) == 0 {
		return fmt.Sprintf("this key's role %s may not call %s, and no person's key may: it is a call between services", role, rpc)
	}
	ask := may[0]
	if ask == string(auth.RoleTeamAdmin) && len(may) > 1 {
		ask = may[1] // a team admin's key would need its team named too
	}
	if ask == string(auth.RoleOwner) {
		return fmt.Sprintf("this key's role %s may not call %s (only an owner may); ask an owner of your organisation to do it", role, rpc)
	}
	return fmt.Sprintf("this key's role %s may not call %s (%s may); ask an owner of your organisation for %s %s key ('tokenctl access create %s')",
		role, rpc, strings.Join(may, ", "), article(ask), ask, ask)
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// unavailableAdvice tells a service that cannot be reached from one that
// answered but cannot serve now.
func unavailableAdvice(ep endpoint, msg string) string {
	check := fmt.Sprintf("check %s or %s", ep.flag, ep.env)
	why := ""
	switch {
	case strings.Contains(msg, "no such host"):
		why = "its host name does not resolve"
	case strings.Contains(msg, "certificate") || strings.Contains(msg, "tls:") || strings.Contains(msg, "handshake"):
		why, check = "the TLS handshake failed", "check --tls-ca, --tls and the server's certificate"
	case strings.Contains(msg, "connection refused"):
		why = "nothing listens there"
	case strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline"):
		why = "it does not answer"
	case strings.Contains(msg, "connection error") || strings.Contains(msg, "dial"):
		why = "the connection failed"
	}
	if why != "" {
		return fmt.Sprintf("cannot reach %s at %s: %s; is it running? %s", ep.service, ep.addr, why, check)
	}
	return fmt.Sprintf("%s at %s cannot serve the call now (%s): try again in a moment", ep.service, ep.addr, quote.Cut(msg, 160))
}
