package schema

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// Node is one server of a cluster, as its remote_servers lists it.
type Node struct {
	Shard, Replica uint32
	// Weight is the shard's weight: its share of the sharding key's range.
	Weight uint32
	Addr   string
}

// MaxNodes bounds the nodes of a cluster reporting opens a connection to.
const MaxNodes = 64

// Nodes reads cluster name's nodes from system.clusters on conn, in shard
// and replica order. A cluster the server does not know is an error.
func Nodes(ctx context.Context, conn driver.Conn, name string) ([]Node, error) {
	rows, err := conn.Query(ctx, `SELECT shard_num, shard_weight, replica_num, host_name, port
FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num`, name)
	if err != nil {
		return nil, fmt.Errorf("read cluster %s: %w", quote.Prefix(name), err)
	}
	defer rows.Close()
	var nodes []Node
	for rows.Next() {
		var n Node
		var host string
		var port uint16
		if err := rows.Scan(&n.Shard, &n.Weight, &n.Replica, &host, &port); err != nil {
			return nil, fmt.Errorf("read cluster %s: %w", quote.Prefix(name), err)
		}
		n.Addr = net.JoinHostPort(host, strconv.Itoa(int(port)))
		nodes = append(nodes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cluster %s: %w", quote.Prefix(name), err)
	}
	switch {
	case len(nodes) == 0:
		return nil, fmt.Errorf("cluster %s: not in the server's remote_servers (system.clusters)", quote.Prefix(name))
	case len(nodes) > MaxNodes:
		return nil, fmt.Errorf("cluster %s: %d nodes, at most %d", quote.Prefix(name), len(nodes), MaxNodes)
	}
	return nodes, nil
}

// Shards groups nodes (in Nodes' order) by shard.
func Shards(nodes []Node) [][]Node {
	var shards [][]Node
	for i, n := range nodes {
		if i == 0 || n.Shard != nodes[i-1].Shard {
			shards = append(shards, nil)
		}
		shards[len(shards)-1] = append(shards[len(shards)-1], n)
	}
	return shards
}
