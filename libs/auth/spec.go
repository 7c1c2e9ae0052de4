package auth

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// HashPrefix starts a keyring entry that gives a key by the SHA-256 of its
// secret ("sha256:<64 hex digits>:org:role[:team]") instead of the secret.
const HashPrefix = "sha256"

// MinSecretLen is the shortest secret a plaintext keyring entry may hold.
// Plaintext entries are for development; deployments give hashes of
// secrets from `tokenctl keys generate` (32 random bytes).
const MinSecretLen = 8

// MaxKeyringEntries bounds a keyring spec.
const MaxKeyringEntries = 10_000

// Entry is one parsed static key: its hash and who it is.
type Entry struct {
	Hash      [32]byte
	Principal Principal
	// Plaintext says the spec held the secret itself, not its hash.
	Plaintext bool
}

// ParseSpec reads a static keyring: entries separated by commas or newlines
// (blank lines and lines starting with '#' are skipped), each
//
//	[id@]credential:org:role[:team-or-service]
//
// where credential is the secret itself or "sha256:<hex>" (its SHA-256),
// role is owner, admin, viewer, team-admin, launcher or service, a team
// admin names its team, a launcher key its team (or *
// for every team of its organisation, e.g. a launcher gateway) and a
// service key the service it is (ingestion, reporting or ledger), which
// limits it to the calls that service makes. A key's id is the one given
// before '@', else role-org[-team] (never derived from the secret).
func ParseSpec(spec string) ([]Entry, error) {
	var out []Entry
	ids, hashes := map[string]int{}, map[[32]byte]int{}
	for i, raw := range splitSpec(spec) {
		if i >= MaxKeyringEntries {
			return nil, fmt.Errorf("api keys: more than %d entries", MaxKeyringEntries)
		}
		e, err := parseEntry(raw)
		if err != nil {
			return nil, fmt.Errorf("api key %d: %w", i+1, err)
		}
		if j, dup := ids[e.Principal.KeyID]; dup {
			return nil, fmt.Errorf("api key %d: key id %s is also key %d's: give each its own id (id@credential:…)", i+1, e.Principal.KeyID, j)
		}
		if j, dup := hashes[e.Hash]; dup {
			return nil, fmt.Errorf("api key %d: the same credential as key %d", i+1, j)
		}
		ids[e.Principal.KeyID], hashes[e.Hash] = i+1, i+1
		out = append(out, e)
	}
	return out, nil
}

func splitSpec(spec string) []string {
	var out []string
	for _, line := range strings.Split(spec, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, entry := range strings.Split(line, ",") {
			if entry = strings.TrimSpace(entry); entry != "" {
				out = append(out, entry)
			}
		}
	}
	return out
}

func parseEntry(entry string) (Entry, error) {
	var e Entry
	id, rest, named := strings.Cut(entry, "@")
	if !named {
		rest = entry
	}
	parts := strings.Split(rest, ":")
	if len(parts) > 0 && parts[0] == HashPrefix {
		if len(parts) < 2 {
			return e, fmt.Errorf("want sha256:<hex>:org:role[:team]")
		}
		b, err := hex.DecodeString(parts[1])
		if err != nil || len(b) != len(e.Hash) {
			return e, fmt.Errorf("sha256 hash must be 64 hex digits")
		}
		copy(e.Hash[:], b)
		parts = parts[2:]
	} else {
		if len(parts[0]) < MinSecretLen {
			return e, fmt.Errorf("secret must be at least %d characters", MinSecretLen)
		}
		e.Hash, e.Plaintext = Hash(parts[0]), true
		parts = parts[1:]
	}
	if len(parts) < 2 || len(parts) > 3 {
		return e, fmt.Errorf("want [id@]secret:org:role[:team] or [id@]sha256:<hex>:org:role[:team], got %d fields after the credential", len(parts))
	}
	p, err := specPrincipal(parts)
	if err != nil {
		return e, err
	}
	if !named {
		id = defaultKeyID(p)
	}
	if !eventlog.ValidID(id) {
		return e, fmt.Errorf("key id %s must be 1-64 letters, digits, '-' or '_'", quote.Prefix(id))
	}
	p.KeyID = id
	e.Principal = p
	return e, nil
}

// specPrincipal reads org:role[:team-or-service].
func specPrincipal(parts []string) (Principal, error) {
	p := Principal{Org: parts[0], Role: Role(parts[1])}
	fourth := ""
	if len(parts) == 3 {
		fourth = parts[2]
	}
	if p.Org != AnyOrg && !eventlog.ValidID(p.Org) {
		return p, fmt.Errorf("organisation %s must be an id (letters, digits, '-', '_') or * for a service key", quote.Prefix(p.Org))
	}
	switch p.Role {
	case RoleService:
		if !knownService(fourth) {
			return p, fmt.Errorf("a service key names its service (…:service:ingestion, reporting or ledger), got %s", quote.Prefix(fourth))
		}
		p.Service = fourth
		return p, nil
	case RoleLauncher:
		if fourth == "" {
			return p, fmt.Errorf("a launcher key needs a team")
		}
	case RoleTeamAdmin:
		if fourth == "" || fourth == AnyTeam {
			return p, fmt.Errorf("a team-admin key needs a team")
		}
	case RoleOwner, RoleAdmin, RoleViewer:
		if fourth != "" {
			return p, fmt.Errorf("%s keys have no team", p.Role)
		}
	default:
		return p, fmt.Errorf("unknown role %s (owner, admin, viewer, team-admin, launcher or service)", quote.Prefix(string(p.Role)))
	}
	if p.Org == AnyOrg {
		return p, fmt.Errorf("only a service key may act for any organisation (*)")
	}
	if fourth != "" && !eventlog.ValidID(fourth) && (p.Role != RoleLauncher || fourth != AnyTeam) {
		return p, fmt.Errorf("team %s must be an id", quote.Prefix(fourth))
	}
	p.Team = fourth
	return p, nil
}

// defaultKeyID names a key whose entry gives no id by who it is.
func defaultKeyID(p Principal) string {
	id := string(p.Role)
	for _, part := range []string{p.Org, p.Team, p.Service} {
		if part != "" && part != AnyOrg {
			id += "-" + part
		}
	}
	return id
}
