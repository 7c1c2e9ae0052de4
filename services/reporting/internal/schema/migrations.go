package schema

// migrations are applied in order; each statement is idempotent (IF NOT
// EXISTS) so a migration interrupted half-way is simply run again. Released
// migrations are never edited: add a new one.
//
// The SQL must run on ClickHouse 18.16 and on current releases: no TTL,
// CODEC, DateTime64, LowCardinality or Map; `ENGINE = X PARTITION BY … ORDER
// BY …`; a materialized view writes into an explicit table with TO.
var migrations = []Migration{
	{
		Version: 1,
		Name:    "charges and usage_daily",
		Statements: []string{
			// One row per WindowCharged event; seq is its LEDGER stream
			// sequence, the projector's resume point.
			`CREATE TABLE IF NOT EXISTS charges (
	seq UInt64,
	event_id String,
	org_id String,
	team_id String,
	user_id String,
	product_code String,
	product_group String,
	product_version String,
	device_id String,
	day Date,
	charged_at DateTime,
	window_start DateTime,
	window_end DateTime,
	tokens Int64,
	renewal UInt8,
	split_pack_ids Array(String),
	split_tokens Array(Int64),
	attribute_keys Array(String),
	attribute_values Array(String)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, team_id, day, product_code, user_id, seq)`,
			// Rows combine only on merges: queries still sum() with GROUP BY.
			`CREATE TABLE IF NOT EXISTS usage_daily (
	org_id String,
	team_id String,
	day Date,
	product_code String,
	user_id String,
	tokens Int64,
	charges UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, team_id, day, product_code, user_id)`,
			`CREATE MATERIALIZED VIEW IF NOT EXISTS usage_daily_mv TO usage_daily AS
SELECT org_id, team_id, day, product_code, user_id, sum(tokens) AS tokens, count() AS charges
FROM charges
GROUP BY org_id, team_id, day, product_code, user_id`,
		},
	}, {
		Version: 2,
		Name:    "launches, pool events, assignments, catalog, usage events",
		Statements: []string{
			// One row per launch decision on the LEDGER stream: charged (a
			// new window), covered (inside an open window, free) or denied.
			`CREATE TABLE IF NOT EXISTS launches (
	seq UInt64,
	event_id String,
	org_id String,
	team_id String,
	user_id String,
	product_code String,
	product_version String,
	device_id String,
	day Date,
	at DateTime,
	outcome String,
	deny_reason String,
	tokens Int64,
	renewal UInt8,
	attribute_keys Array(String),
	attribute_values Array(String)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, team_id, day, product_code, user_id, seq)`,
			// Money in and out of a pool other than charges: packs added
			// (bought, true-up, moved in), tokens removed, refunded or moved
			// out, packs expired, merges. tokens is signed: + in, - out.
			`CREATE TABLE IF NOT EXISTS pool_events (
	seq UInt64,
	event_id String,
	org_id String,
	team_id String,
	day Date,
	at DateTime,
	kind String,
	pack_id String,
	tokens Int64,
	unit_price_micros Int64,
	currency String,
	purchased_at DateTime,
	expires_at DateTime,
	source String,
	reason String,
	counterparty_team_id String,
	available_after Int64,
	split_pack_ids Array(String),
	split_tokens Array(Int64),
	actor String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, team_id, day, seq)`,
			`CREATE TABLE IF NOT EXISTS assignments (
	seq UInt64,
	event_id String,
	org_id String,
	team_id String,
	user_id String,
	day Date,
	at DateTime,
	assigned UInt8,
	product_codes Array(String)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, team_id, user_id, seq)`,
			// ProductRateSet events of each organisation's catalog.
			`CREATE TABLE IF NOT EXISTS products (
	seq UInt64,
	event_id String,
	org_id String,
	product_code String,
	name String,
	product_group String,
	daily_rate Int64,
	effective_from DateTime,
	day Date
) ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, product_code, seq)`,
			// The USAGE stream: launches received, heartbeats, session ends;
			// seq is the USAGE stream sequence.
			`CREATE TABLE IF NOT EXISTS usage_events (
	seq UInt64,
	event_id String,
	org_id String,
	team_id String,
	user_id String,
	product_code String,
	product_version String,
	device_id String,
	window_id String,
	kind String,
	active UInt8,
	decision String,
	deny_reason String,
	tokens_charged Int64,
	day Date,
	at DateTime,
	occurred_at DateTime,
	clock_skew_ms Int64,
	attribute_keys Array(String),
	attribute_values Array(String)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, team_id, day, user_id, seq)`,
		},
	}, {
		Version: 3,
		Name:    "sessions and budget events",
		Statements: []string{
			// One row per session event of the USAGE stream: a launch that
			// opened or joined a window (start), a heartbeat (active or
			// idle since the previous event) or a session end. A session is
			// (team, user, product, device, window); its start, end, active
			// and idle time are aggregated at query time from the gaps
			// between its events, in sequence order.
			`CREATE TABLE IF NOT EXISTS sessions (
	seq UInt64,
	event_id String,
	org_id String,
	team_id String,
	user_id String,
	product_code String,
	device_id String,
	window_id String,
	day Date,
	at DateTime,
	kind String,
	active UInt8
) ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, team_id, user_id, product_code, device_id, window_id, seq)`,
			// BudgetSet (kind set or deleted) and BudgetCrossed (crossed)
			// events of the LEDGER stream.
			`CREATE TABLE IF NOT EXISTS budget_events (
	seq UInt64,
	event_id String,
	org_id String,
	team_id String,
	day Date,
	at DateTime,
	kind String,
	budget_id String,
	scope String,
	key String,
	attribute_key String,
	limit_tokens Int64,
	period String,
	hard UInt8,
	period_start Date,
	spent Int64,
	user_id String,
	product_code String,
	actor String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, team_id, budget_id, seq)`,
		},
	}, {
		Version: 4,
		Name:    "stream origins",
		Statements: []string{
			// Which stream (by its creation time) the projections were made
			// from, so a reset event log is refused instead of half-skipped.
			`CREATE TABLE IF NOT EXISTS stream_origins (
	stream String,
	created_ns UInt64,
	recorded DateTime
) ENGINE = MergeTree
ORDER BY (stream, recorded)`,
		},
	}, {
		Version: 5,
		Name:    "yearly partitions for one-team reads",
		// Monthly partitions made every one-team report over a year read
		// at least twelve parts, one granule of other teams' rows each:
		// at 10 M charges that, not the team's own rows, was most of a
		// query's time. These tables hold the same columns and keys,
		// partitioned by year, so a team's year is one or two ranges of
		// one part each. They start empty: the projector replays each
		// stream from its start into them (every table resumes after its
		// own max(seq), so the tables kept as they were skip what they
		// hold); until it has caught up, reports show what it replayed so
		// far. The old tables are no longer written; a later migration may
		// drop them. usage_events and products, which no report reads
		// by team, keep their monthly partitions. "AS <table>" takes the
		// columns of the table as migrations 1-4 left it, so the copies
		// cannot drift from the originals; only engine, partition and
		// key are spelled out.
		Statements: []string{
			`CREATE TABLE IF NOT EXISTS charges_v2 AS charges
ENGINE = MergeTree PARTITION BY toYear(day) ORDER BY (org_id, team_id, day, product_code, user_id, seq)`,
			`CREATE TABLE IF NOT EXISTS usage_daily_v2 AS usage_daily
ENGINE = SummingMergeTree PARTITION BY toYear(day) ORDER BY (org_id, team_id, day, product_code, user_id)`,
			`CREATE MATERIALIZED VIEW IF NOT EXISTS usage_daily_v2_mv TO usage_daily_v2 AS
SELECT org_id, team_id, day, product_code, user_id, sum(tokens) AS tokens, count() AS charges
FROM charges_v2
GROUP BY org_id, team_id, day, product_code, user_id`,
			`CREATE TABLE IF NOT EXISTS launches_v2 AS launches
ENGINE = MergeTree PARTITION BY toYear(day) ORDER BY (org_id, team_id, day, product_code, user_id, seq)`,
			`CREATE TABLE IF NOT EXISTS pool_events_v2 AS pool_events
ENGINE = MergeTree PARTITION BY toYear(day) ORDER BY (org_id, team_id, day, seq)`,
			`CREATE TABLE IF NOT EXISTS assignments_v2 AS assignments
ENGINE = MergeTree PARTITION BY toYear(day) ORDER BY (org_id, team_id, user_id, seq)`,
			`CREATE TABLE IF NOT EXISTS sessions_v2 AS sessions
ENGINE = MergeTree PARTITION BY toYear(day) ORDER BY (org_id, team_id, user_id, product_code, device_id, window_id, seq)`,
			`CREATE TABLE IF NOT EXISTS budget_events_v2 AS budget_events
ENGINE = MergeTree PARTITION BY toYear(day) ORDER BY (org_id, team_id, budget_id, seq)`,
		},
	}, {
		Version: 6,
		Name:    "projection checkpoints",
		// A table's max(seq) is its resume point only up to its last row:
		// a table that holds few events (budget events) would pin its
		// stream's reader near sequence 0 and make every restart re-read
		// the log. Each projection records here, now and then, the stream
		// position everything up to which it has projected; it resumes
		// after the higher of the two. Merges keep one row per table.
		Statements: []string{
			`CREATE TABLE IF NOT EXISTS projection_checkpoints (
	table_name String,
	seq UInt64,
	recorded DateTime
) ENGINE = ReplacingMergeTree(seq)
ORDER BY table_name`,
		},
	}, {
		Version: 7,
		Name:    "capacity events",
		// One row per capacity event on the LEDGER stream (seed 004's
		// "view usage details"): set, used or returned. Partitioned by
		// year like the other one-team tables.
		Statements: []string{
			`CREATE TABLE IF NOT EXISTS capacity_events (
	seq UInt64,
	event_id String,
	org_id String,
	team_id String,
	product_code String,
	day Date,
	at DateTime,
	kind String,
	capacity_kind String,
	user_id String,
	checkout_id String,
	units Int64,
	total Int64,
	available_after Int64,
	ends_at DateTime,
	actor String
) ENGINE = MergeTree
PARTITION BY toYear(day)
ORDER BY (org_id, team_id, product_code, day, seq)`,
		},
	}, {
		Version: 8,
		Name:    "user group events",
		// One row per user group event on the LEDGER stream: a group set
		// (its name and products as they stand), members added and removed,
		// or the group deleted. The directory folds them into each user's
		// groups now.
		Statements: []string{
			`CREATE TABLE IF NOT EXISTS user_group_events (
	seq UInt64,
	event_id String,
	org_id String,
	team_id String,
	group_id String,
	day Date,
	at DateTime,
	kind String,
	name String,
	product_codes Array(String),
	added_user_ids Array(String),
	removed_user_ids Array(String),
	actor String
) ENGINE = MergeTree
PARTITION BY toYear(day)
ORDER BY (org_id, team_id, group_id, seq)`,
		},
	}, {
		Version: 10,
		Name:    "subscription events",
		// One row per named subscription granted or revoked on the LEDGER
		// stream; product_codes is empty when a revocation takes every
		// product. Advice reads who holds a subscription now from it.
		Statements: []string{
			`CREATE TABLE IF NOT EXISTS subscription_events (
	seq UInt64,
	event_id String,
	org_id String,
	team_id String,
	user_id String,
	product_codes Array(String),
	day Date,
	at DateTime,
	granted UInt8,
	ends_at DateTime,
	reason String,
	actor String
) ENGINE = MergeTree
PARTITION BY toYear(day)
ORDER BY (org_id, team_id, user_id, seq)`,
		},
	}, {
		Version: 12,
		Name:    "planned project events",
		// Reporting's own store, not a projection: the planned projects
		// admins record (the protobuf Event in event), read back in at_ns
		// order and folded by forecast.FoldPlans. A rebuild of the
		// projections must keep this table.
		Statements: []string{
			`CREATE TABLE IF NOT EXISTS planned_project_events (
	org_id String,
	team_id String,
	event_id String,
	plan_id String,
	kind String,
	at DateTime,
	at_ns Int64,
	actor String,
	event String
) ENGINE = MergeTree
PARTITION BY toYear(at)
ORDER BY (org_id, team_id, at_ns, event_id)`,
		},
	}, {
		Version: 13,
		Name:    "stream partitions",
		// LEDGER and USAGE may be split into partition streams LEDGER-<p>,
		// each with its own sequences: every projected row names the
		// partition of the stream it came from (-1: the one-stream layout,
		// which every row before this migration came from), and each table
		// resumes per stream. The checkpoints move to a table keyed by table
		// and stream (a sorting key cannot take a column with a default on
		// 18.16); the copy may run twice, merges keep the highest.
		Columns: partitionColumns(
			"charges_v2", "launches_v2", "pool_events_v2", "assignments_v2", "products", "budget_events_v2",
			"capacity_events", "user_group_events", "subscription_events", "usage_events", "sessions_v2"),
		Statements: []string{
			`CREATE TABLE IF NOT EXISTS projection_checkpoints_v2 (
	table_name String,
	stream_part Int8,
	seq UInt64,
	recorded DateTime
) ENGINE = ReplacingMergeTree(seq)
ORDER BY (table_name, stream_part)`,
			`INSERT INTO projection_checkpoints_v2 (table_name, stream_part, seq, recorded)
SELECT table_name, toInt8(-1), seq, recorded FROM projection_checkpoints`,
		},
	},
}

// partitionColumns adds stream_part to each of tables.
func partitionColumns(tables ...string) []Column {
	out := make([]Column, len(tables))
	for i, t := range tables {
		out[i] = Column{Table: t, Name: "stream_part", Type: "Int8 DEFAULT -1"}
	}
	return out
}
