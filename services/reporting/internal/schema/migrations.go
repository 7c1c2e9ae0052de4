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
	},
}
