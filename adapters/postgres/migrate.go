package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/chatlog/chat/migrations"
	"github.com/jackc/pgx/v5"
)

// migrationLock is the advisory lock key that serializes migration runners
// (two nodes starting at once, or chatctl migrate beside a node).
const migrationLock = 7_201_100_001

// migration is one numbered SQL file.
type migration struct {
	version int
	name    string
	sql     string
}

// Migrate applies the migrations not applied yet, each in its own
// transaction and recorded in schema_migrations. It is safe to run twice
// and from several processes at once.
func (db *DB) Migrate(ctx context.Context) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: acquire: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		// A failed unlock leaves the lock on a pooled session; drop it.
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(migrationLock)); err != nil {
			db.log.Error("migrate: unlock", "err", err)
			_ = conn.Conn().Close(context.Background())
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    int         PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	for _, m := range all {
		if err := db.apply(ctx, conn.Conn(), m); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, conn *pgx.Conn, m migration) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var done bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.version).Scan(&done)
		if err != nil {
			return fmt.Errorf("migrate: check %s: %w", m.name, err)
		}
		if done {
			return nil
		}
		// No arguments: the simple protocol runs the file's statements in turn.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate: apply %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.version); err != nil {
			return fmt.Errorf("migrate: record %s: %w", m.name, err)
		}
		db.log.Info("migration applied", "name", m.name)
		return nil
	})
}

// loadMigrations reads the embedded files in version order.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations.Postgres, "postgres")
	if err != nil {
		return nil, fmt.Errorf("migrate: list: %w", err)
	}
	var all []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		prefix, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if err != nil {
			return nil, fmt.Errorf("migrate: %s does not start with a number: %w", e.Name(), err)
		}
		body, err := fs.ReadFile(migrations.Postgres, "postgres/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", e.Name(), err)
		}
		all = append(all, migration{version: v, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(all, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(all); i++ {
		if all[i].version == all[i-1].version {
			return nil, errors.New("migrate: two files share version " + strconv.Itoa(all[i].version))
		}
	}
	return all, nil
}
