// Package natsauth states who may do what on tokenmeter's NATS: one identity
// per service and tool, each with the subjects it may publish and subscribe
// to. The same table builds the users of an embedded server (testkit, the
// dev stack) and renders the shipped nats.conf authorization (deploy/nats).
package natsauth

import (
	"slices"
	"sort"
	"strings"

	"github.com/tokenmeter/tokenmeter/libs/ring"
	"github.com/tokenmeter/tokenmeter/libs/subject"
)

// Identity names: one per service, plus the tools'.
const (
	Ledger    = "ledger"
	Ingestion = "ingestion"
	Reporting = "reporting"
	Alerting  = "alerting"
	// Admin provisions and repairs: every subject.
	Admin = "admin"
	// Reader inspects the three streams and nothing else.
	Reader = "reader"
)

// Stream and bucket names, as eventlog and the services spell them (the
// streams' from libs/subject); kept here so this package imports no service.
const (
	LedgerStream = subject.LedgerStream
	UsageStream  = subject.UsageStream
	AlertsStream = subject.AlertsStream
	// AccessKeys holds people's access keys: ingestion writes it, every
	// service reads it (libs/keystore).
	AccessKeys = "ACCESS_KEYS"
	// SessionKeys holds the keys of people signed into the console:
	// reporting (which serves it) writes it, every service reads it.
	SessionKeys = "SESSION_KEYS"
	// PersonKeys holds the keys sealing users' profiles (libs/privacy): the
	// ledger writes and erases them, reporting reads them for the directory.
	PersonKeys = "PERSON_KEYS"
	// RoleGrants holds the owners' grants of console roles to people's
	// claims: ingestion writes it, reporting (the console) reads it.
	RoleGrants = "ROLE_GRANTS"
	// LedgerMembers holds the live ledger replicas: the ledger writes it,
	// ingestion reads it to send each pool's calls to its owner.
	LedgerMembers = ring.MembersBucket
	// PoolPlacement records the LEDGER subject each pool was first written
	// on (its partition), so every ledger replica finds it whatever its N.
	PoolPlacement = "POOL_PLACEMENT"
)

// LedgerStreams and UsageStreams name the legacy stream and every partition
// stream a deployment may have (NATS wildcards match whole tokens only, so a
// grant cannot say "LEDGER-*").
var (
	LedgerStreams = withPartitions(LedgerStream, subject.LedgerStreamOf)
	UsageStreams  = withPartitions(UsageStream, subject.UsageStreamOf)
)

func withPartitions(legacy string, of func(int) string) []string {
	names := []string{legacy}
	for p := range subject.MaxPartitions {
		names = append(names, of(p))
	}
	return names
}

// Grant is what one identity may do. It is data: renderers and the embedded
// server read it, nothing interprets it.
type Grant struct {
	// Append: subjects it publishes events to.
	Append []string
	// OwnStreams and OwnBuckets it creates (never updates), reads and (buckets) writes.
	OwnStreams, OwnBuckets []string
	// ReadStreams and ReadBuckets it only reads.
	ReadStreams, ReadBuckets []string
	// OwnDurables are its durable consumers ("STREAM/name"): no other
	// identity reading the stream may bind, inspect or delete them.
	OwnDurables []string
	// ListStreams lets it list stream names, to find the partition streams.
	ListStreams bool
	// Balance are streams whose Raft leaders it spreads over the cluster's
	// nodes: it reads their info and asks their leader to step down.
	Balance []string
	// All grants every subject (admin).
	All bool
}

// Grants is the table of every identity.
var Grants = map[string]Grant{
	Ledger: {
		Append:      []string{"ledger.>"},
		OwnStreams:  LedgerStreams,
		OwnBuckets:  []string{LedgerMembers, "LEDGER_SNAPSHOTS", PersonKeys, PoolPlacement},
		ReadBuckets: []string{AccessKeys, SessionKeys},
		ListStreams: true,
		// The partition streams only: the legacy LEDGER and USAGE stay put.
		Balance: slices.Concat(LedgerStreams[1:], UsageStreams[1:]),
	},
	Ingestion: {
		Append:      []string{"usage.>"},
		OwnStreams:  UsageStreams,
		OwnBuckets:  []string{"LAUNCHER_KEYS", AccessKeys, RoleGrants},
		ReadBuckets: []string{SessionKeys, LedgerMembers},
	},
	Reporting: {
		ReadStreams: slices.Concat(LedgerStreams, UsageStreams),
		ListStreams: true,
		OwnBuckets:  []string{SessionKeys, "REPORTING_LEASES", "REPORT_SCHEDULES"},
		ReadBuckets: []string{AccessKeys, PersonKeys, RoleGrants},
	},
	Alerting: {
		Append:      []string{"alerts.>"},
		OwnStreams:  []string{AlertsStream},
		OwnBuckets:  []string{"ALERTING_RULES", "ALERTING_ACKS", "ALERTING_WEBHOOKS", "ALERTING_DEADLETTERS"},
		OwnDurables: []string{AlertsStream + "/alerting-webhooks"},
		ReadStreams: slices.Concat(LedgerStreams, UsageStreams),
		ReadBuckets: []string{AccessKeys, SessionKeys},
		ListStreams: true,
	},
	Admin:  {All: true},
	Reader: {ReadStreams: slices.Concat(LedgerStreams, UsageStreams, []string{AlertsStream}), ListStreams: true},
}

// Names lists the identities in a stable order.
func Names() []string {
	names := make([]string, 0, len(Grants))
	for n := range Grants {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Known reports whether name is an identity of the table.
func Known(name string) bool {
	_, ok := Grants[name]
	return ok
}

// InboxPrefix is where an identity's replies come back. Each has its own, so
// no identity can subscribe to another's replies (KV values, stream reads).
func InboxPrefix(name string) string { return "_INBOX." + name }

// Permissions are the subjects an identity may publish and subscribe to;
// DenyPublish wins over Publish.
type Permissions struct {
	Publish, Subscribe, DenyPublish []string
}

// PermissionsOf expands an identity's grant into NATS subjects.
func PermissionsOf(name string) Permissions {
	g := Grants[name]
	if g.All {
		return Permissions{Publish: []string{">"}, Subscribe: []string{">"}}
	}
	pub := []string{"$JS.API.INFO"}
	if g.ListStreams {
		pub = append(pub, "$JS.API.STREAM.NAMES")
	}
	pub = append(pub, g.Append...)
	for _, s := range g.OwnStreams {
		pub = append(pub, ownStream(s)...)
		pub = append(pub, readStream(s)...)
	}
	for _, b := range g.OwnBuckets {
		pub = append(pub, "$KV."+b+".>")
		pub = append(pub, ownStream("KV_"+b)...)
		pub = append(pub, readStream("KV_"+b)...)
	}
	for _, s := range g.ReadStreams {
		pub = append(pub, readStream(s)...)
	}
	for _, b := range g.ReadBuckets {
		pub = append(pub, readStream("KV_"+b)...)
	}
	for _, s := range g.Balance {
		if !slices.Contains(g.OwnStreams, s) && !slices.Contains(g.ReadStreams, s) {
			pub = append(pub, "$JS.API.STREAM.INFO."+s)
		}
		pub = append(pub, "$JS.API.STREAM.LEADER.STEPDOWN."+s)
	}
	return Permissions{Publish: slices.Compact(pub), Subscribe: []string{InboxPrefix(name) + ".>"}, DenyPublish: othersDurables(name, g)}
}

// othersDurables denies what would bind, inspect, pull from, acknowledge or
// delete another identity's durable consumer on a stream this one reads
// (reading a stream otherwise allows any consumer on it).
func othersDurables(name string, g Grant) []string {
	var deny []string
	for _, other := range Names() {
		if other == name {
			continue
		}
		for _, d := range Grants[other].OwnDurables {
			stream, durable, _ := strings.Cut(d, "/")
			if !slices.Contains(g.ReadStreams, stream) && !slices.Contains(g.OwnStreams, stream) {
				continue
			}
			deny = append(deny,
				"$JS.API.CONSUMER.*."+stream+"."+durable, "$JS.API.CONSUMER.*."+stream+"."+durable+".>",
				"$JS.API.CONSUMER.DURABLE.CREATE."+stream+"."+durable,
				"$JS.API.CONSUMER.MSG.NEXT."+stream+"."+durable, "$JS.ACK."+stream+"."+durable+".>")
		}
	}
	return deny
}

// ownStream lets the owner create its stream, never change it: a stream's
// configuration (RePublish, sources, subject transforms) could copy messages
// onto subjects the owner may not publish to. Changing one is the admin's.
func ownStream(s string) []string {
	return []string{"$JS.API.STREAM.CREATE." + s}
}

// readStream is what reading stream s takes: its info, ordered, durable and
// pull consumers with their acks and flow control, and single-message gets.
func readStream(s string) []string {
	return []string{
		"$JS.API.STREAM.INFO." + s,
		"$JS.API.STREAM.MSG.GET." + s,
		"$JS.API.DIRECT.GET." + s, "$JS.API.DIRECT.GET." + s + ".>",
		"$JS.API.CONSUMER.CREATE." + s, "$JS.API.CONSUMER.CREATE." + s + ".>",
		"$JS.API.CONSUMER.DURABLE.CREATE." + s + ".>",
		"$JS.API.CONSUMER.INFO." + s + ".>", "$JS.API.CONSUMER.DELETE." + s + ".>",
		"$JS.API.CONSUMER.MSG.NEXT." + s + ".>",
		"$JS.ACK." + s + ".>", "$JS.FC." + s + ".>",
	}
}
