package keystore

import "github.com/tokenmeter/tokenmeter/libs/auth"

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
