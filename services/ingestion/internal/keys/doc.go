// Package keys serves the key RPCs of IngestionService: per-team launcher
// keys, made by admins, and access keys granting people's roles, made by
// owners, and the console's role grants, made by owners too (libs/rolegrant).
// The keys live hashed in JetStream KV buckets (libs/keystore) that
// every replica watches, so a revocation takes effect everywhere within a
// second.
package keys
