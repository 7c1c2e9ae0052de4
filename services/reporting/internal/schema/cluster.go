package schema

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"

	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// Cluster lays the migrations out on a ClickHouse cluster (its name in the
// servers' remote_servers): the same migration list as on one server, each
// statement rewritten here, and only here, for a cluster node.
//
// A table with an org_id column becomes <table>_local, replicated within its
// shard (ZooKeeper path /clickhouse/tables/{shard}/<db>/<table>_local, replica
// {replica} from the node's macros), and <table>, a Distributed table over
// them sharded by ShardKeySQL, which reports read. Reporting's own small
// stores (globalTables) are one replicated copy on every node; the projection
// checkpoints (shardTables) are per shard, read and written only by that
// shard's sink. A materialized view reads and writes the _local tables of
// its node. A column is added to a sharded table's _local part and then to
// its Distributed table (18.16 alters both); a copy between unsharded tables
// runs on every node as written (replicas of a shard deduplicate the same
// block, and the checkpoints keep the highest anyway).
type Cluster struct {
	Name     string
	Database string
}

// ShardKeySQL is the Distributed tables' sharding key: the first 8 bytes of
// the MD5 of org_id, big-endian. ShardKey computes it the same way in Go.
const ShardKeySQL = "halfMD5(org_id)"

// ShardKey is ShardKeySQL for org.
func ShardKey(org string) uint64 {
	sum := md5.Sum([]byte(org))
	return binary.BigEndian.Uint64(sum[:8])
}

// LocalTable is the name of table's shard-local part on a cluster node.
func LocalTable(table string) string { return table + "_local" }

var (
	globalTables = map[string]bool{"stream_origins": true, "planned_project_events": true}
	shardTables  = map[string]bool{"projection_checkpoints": true, "projection_checkpoints_v2": true}

	createTable = regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS (\w+) (\(.*\)\s*|AS (\w+)\s+)ENGINE = (\w+)(\(([^)]*)\))?(.*)$`)
	createView  = regexp.MustCompile(`(?s)^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+)\s+AS\s+(.*\bFROM)\s+(\w+)(\b.*)$`)
	copyRows    = regexp.MustCompile(`(?s)^INSERT INTO (\w+) \([^)]*\)\s*SELECT .* FROM (\w+)$`)
)

// Tables implements the layout of an added column: a sharded table's _local
// part first, then the Distributed table reads see.
func (c Cluster) Tables(table string) []string {
	if c.tableName(table) == table {
		return []string{table}
	}
	return []string{LocalTable(table), table}
}

// Statements returns what stmt, one statement of a migration, becomes on a
// node of c. A statement of a shape it does not know is an error, so that a
// new kind of migration is laid out for the cluster on purpose.
func (c Cluster) Statements(stmt string) ([]string, error) {
	if m := createView.FindStringSubmatch(stmt); m != nil {
		return []string{fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s TO %s AS\n%s %s%s",
			m[1], LocalTable(m[2]), m[3], LocalTable(m[4]), m[5])}, nil
	}
	if m := copyRows.FindStringSubmatch(stmt); m != nil {
		if c.tableName(m[1]) != m[1] || c.tableName(m[2]) != m[2] {
			return nil, fmt.Errorf("no cluster layout for a copy between sharded tables: %s", quote.Prefix(stmt))
		}
		return []string{stmt}, nil
	}
	m := createTable.FindStringSubmatch(stmt)
	if m == nil {
		return nil, fmt.Errorf("no cluster layout for statement %s", quote.Prefix(stmt))
	}
	table, body, source, engine, args, rest := m[1], m[2], m[3], m[4], m[6], m[7]
	if !strings.HasSuffix(engine, "MergeTree") {
		return nil, fmt.Errorf("table %s: no cluster layout for engine %s", table, engine)
	}
	name, replica := LocalTable(table), "'{replica}'"
	switch {
	case globalTables[table]:
		name, replica = table, "'{shard}-{replica}'"
	case shardTables[table]:
		name = table
	}
	path := "'/clickhouse/tables/{shard}/" + c.Database + "/" + name + "'"
	if globalTables[table] {
		path = "'/clickhouse/tables/all/" + c.Database + "/" + name + "'"
	}
	params := path + ", " + replica
	if args != "" {
		params += ", " + args
	}
	if source != "" && len(addedColumns(table)) > 0 {
		if body = createdBody(source); body == "" {
			return nil, fmt.Errorf("table %s: no CREATE of %s to copy its columns from", table, source)
		}
		body, source = withColumns(body, source), ""
	}
	if source != "" {
		body = "AS " + c.tableName(source) + " "
	} else if name != table && !strings.Contains(body, "org_id String") {
		return nil, fmt.Errorf("table %s: no org_id column to shard it by", table)
	} else {
		body = withColumns(body, table)
	}
	out := []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s %sENGINE = Replicated%s(%s)%s", name, body, engine, params, rest)}
	if name != table {
		out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s AS %s ENGINE = Distributed(%s, %s, %s, %s)",
			table, name, c.Name, c.Database, name, ShardKeySQL))
	}
	return out, nil
}

// addedColumns are the columns migrations add to table later. A replica
// created after such an ALTER must be created with them (18.16 refuses a
// new replica whose columns differ from the ones in ZooKeeper), so the
// cluster layout creates every replicated table with its final columns and
// adding them later finds them there.
func addedColumns(table string) []Column {
	var out []Column
	for _, m := range migrations {
		for _, c := range m.Columns {
			if c.Table == table {
				out = append(out, c)
			}
		}
	}
	return out
}

// withColumns is body, a column list in parentheses, with table's added
// columns appended.
func withColumns(body, table string) string {
	end := strings.LastIndex(body, ")")
	var add strings.Builder
	for _, c := range addedColumns(table) {
		add.WriteString(",\n\t" + c.Name + " " + c.Type)
	}
	return body[:end] + add.String() + body[end:]
}

// createdBody is the column list a migration creates table with ("" if
// none spells one out).
func createdBody(table string) string {
	for _, m := range migrations {
		for _, stmt := range m.Statements {
			if c := createTable.FindStringSubmatch(stmt); c != nil && c[1] == table && c[3] == "" {
				return c[2]
			}
		}
	}
	return ""
}

// tableName is what table is called on a node: its _local part if sharded.
func (c Cluster) tableName(table string) string {
	if globalTables[table] || shardTables[table] {
		return table
	}
	return LocalTable(table)
}

// ShardRanges are the shards' cumulative weights, in shard order: a row goes
// to the first shard whose range holds ShardKey(org) modulo the total, as
// the Distributed engine places it.
type ShardRanges []uint64

// NewShardRanges returns the ranges of shards of these weights.
func NewShardRanges(weights []uint32) ShardRanges {
	r := make(ShardRanges, len(weights))
	var sum uint64
	for i, w := range weights {
		sum += uint64(w)
		r[i] = sum
	}
	return r
}

// Of is the index of org's shard.
func (r ShardRanges) Of(org string) int {
	slot := ShardKey(org) % r[len(r)-1]
	for i, end := range r {
		if slot < end {
			return i
		}
	}
	return len(r) - 1
}
