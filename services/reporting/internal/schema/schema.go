// Package schema owns reporting's ClickHouse tables: versioned, idempotent
// migrations recorded in a schema_migrations table.
package schema

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Migration is one step of the schema.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
}

// Migrations returns every migration in order.
func Migrations() []Migration { return migrations }

var identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// CheckDatabase returns an error when name cannot be used as a database name.
func CheckDatabase(name string) error {
	if !identPattern.MatchString(name) {
		return fmt.Errorf("database name %q: want letters, digits and '_', starting with a letter or '_'", name)
	}
	return nil
}

// CreateDatabase creates database name if it is missing. conn may be
// connected to any database.
func CreateDatabase(ctx context.Context, conn driver.Conn, name string) error {
	if err := CheckDatabase(name); err != nil {
		return err
	}
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"`"); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version UInt32,
	name String,
	applied_at DateTime
) ENGINE = MergeTree
ORDER BY version`

// Migrate applies the migrations missing from the database conn is connected
// to and returns the versions it applied. Concurrent runs are harmless: every
// statement is idempotent.
func Migrate(ctx context.Context, conn driver.Conn) ([]uint32, error) {
	return migrate(ctx, conn, func(stmt string) ([]string, error) { return []string{stmt}, nil })
}

// MigrateNode is Migrate on one node of cluster c, each statement laid out
// by c.Statements. Every node records its own schema_migrations.
func MigrateNode(ctx context.Context, conn driver.Conn, c Cluster) ([]uint32, error) {
	return migrate(ctx, conn, c.Statements)
}

func migrate(ctx context.Context, conn driver.Conn, layout func(string) ([]string, error)) ([]uint32, error) {
	if err := conn.Exec(ctx, createMigrationsTable); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := Applied(ctx, conn)
	if err != nil {
		return nil, err
	}
	var done []uint32
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			stmts, err := layout(stmt)
			if err != nil {
				return done, fmt.Errorf("migration %d (%s) statement %d: %w", m.Version, m.Name, i+1, err)
			}
			for _, s := range stmts {
				if err := conn.Exec(ctx, s); err != nil {
					return done, fmt.Errorf("migration %d (%s) statement %d: %w", m.Version, m.Name, i+1, err)
				}
			}
		}
		if err := record(ctx, conn, m); err != nil {
			return done, err
		}
		done = append(done, m.Version)
	}
	return done, nil
}

// Applied returns the versions recorded in schema_migrations.
func Applied(ctx context.Context, conn driver.Conn) (map[uint32]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return applied, nil
}

// record notes m as applied. It inserts through a batch: on 18.16 an
// Exec("INSERT ... VALUES ...") with clickhouse-go v2 hangs until its deadline.
func record(ctx context.Context, conn driver.Conn, m Migration) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
	if err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	defer batch.Close()
	if err := batch.Append(m.Version, m.Name, time.Now().UTC().Truncate(time.Second)); err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	return nil
}
