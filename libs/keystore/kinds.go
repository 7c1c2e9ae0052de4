package keystore

import (
	"strings"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// Launchers are per-team launcher keys, made by admins through ingestion.
var Launchers = Kind{
	Bucket: "LAUNCHER_KEYS", Description: "tokenmeter launcher keys (SHA-256 of the secret)", SecretPrefix: "tmk_",
	Admits: func(r Record) bool { return r.Role == "" || r.Role == string(auth.RoleLauncher) },
}

// People are access keys granting one person's role of an organisation
// (owner, admin, viewer, team-admin), made by owners through ingestion and
// accepted by every service.
var People = Kind{
	Bucket: "ACCESS_KEYS", Description: "tokenmeter access keys of people and tools (SHA-256 of the secret)", SecretPrefix: "tma_",
	Admits: func(r Record) bool { _, err := auth.ParseRole(r.Role, r.Team); return err == nil },
}

// MaxSessionKeyLife bounds a session key's life (the console's longest session).
const MaxSessionKeyLife = 7 * 24 * time.Hour

// Sessions are the keys of people signed into the console through single
// sign-on, one per session: made by the reporting service's console, naming
// the person, expiring with the session, revoked at sign-out. Records go
// from the bucket a day after the longest session could end.
var Sessions = Kind{
	Bucket: "SESSION_KEYS", Description: "tokenmeter console sessions' keys (SHA-256 of the secret)", SecretPrefix: "tms_",
	TTL: MaxSessionKeyLife + 24*time.Hour,
	Admits: func(r Record) bool {
		_, err := auth.ParseRole(r.Role, r.Team)
		return err == nil && strings.HasPrefix(r.Person, auth.PersonPrefix) && r.ExpiresAt != nil &&
			r.ExpiresAt.Sub(r.CreatedAt) <= MaxSessionKeyLife
	},
}
