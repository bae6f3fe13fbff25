// Package sqlite is the embedded mode's store: the event log, the inline
// state, the secrets, the relay's checkpoint and the read models in one
// SQLite file (modernc.org/sqlite, pure Go). It implements the same ports as
// adapters/postgres (eventstore.Backend, projections.Store, the relay
// source), for a single process.
//
// It must never import another adapter; cmd wires it.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Config configures Open.
type Config struct {
	// Dir holds chat.db (and its -wal and -shm companions).
	Dir    string
	Logger *slog.Logger
	// Readers caps the read pool; default 4.
	Readers int
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Readers <= 0 {
		c.Readers = 4
	}
}

// Validate reports a configuration Open cannot use.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("sqlite: no directory")
	}
	if strings.ContainsAny(c.Dir, "?#") {
		return fmt.Errorf("sqlite: directory %q must not contain '?' or '#'", c.Dir)
	}
	return nil
}

// FileName is the database file inside Config.Dir.
const FileName = "chat.db"

// DB is the open store. It is safe for concurrent use.
//
// SQLite allows one writer at a time, so all writes (appends, projection
// batches, checkpoints) share one connection, taken for the whole of a
// transaction and released at its end. Nothing holds that connection while
// waiting for another write, so an append and a projection batch simply run
// one after the other and cannot deadlock. Reads use a separate pool and, in
// WAL mode, never wait for the writer.
type DB struct {
	write *sql.DB
	read  *sql.DB
	log   *slog.Logger

	stmts map[string]*sql.Stmt // prepared on write at Open, by query text; read-only after

	wakeMu  sync.Mutex
	wakers  map[chan struct{}]struct{}
	leaders leaders

	projMu        sync.Mutex
	projCommitted chan struct{} // closed and replaced at each projection commit
}

// Open opens (creating if needed) <Dir>/chat.db and applies the migrations.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.Dir, FileName)
	write, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	db := &DB{write: write, log: cfg.Logger, stmts: map[string]*sql.Stmt{},
		wakers: map[chan struct{}]struct{}{}, projCommitted: make(chan struct{}), leaders: leaders{held: map[string]chan struct{}{}}}
	// Migrate before the read pool opens, so WAL mode is set on the file
	// before any reader looks at it.
	if err := db.migrate(ctx); err != nil {
		_ = write.Close()
		return nil, err
	}
	if err := db.prepare(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(cfg.Readers)
	read.SetMaxIdleConns(cfg.Readers)
	db.read = read
	if err := db.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// dsn builds the connection string.
//
// WAL lets readers run beside the writer. synchronous=NORMAL in WAL mode
// syncs the WAL only at checkpoints, not at every commit: a power loss (not
// a process crash) may lose the last few committed transactions, but never
// corrupts the file or breaks a hash chain, since a transaction is either in
// the WAL whole or not at all. That trade buys an order of magnitude of
// commits per second; the embedded mode is for laptops and small teams.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "1")
	q.Add("_pragma", "cache_size(-32768)") // 32 MiB per connection
	if writer {
		// Checkpointing every 32 MiB of WAL instead of 4 MiB writes a hot
		// page back to the file once for many commits, and fsyncs less:
		// a third more appends per second under load.
		q.Add("_pragma", "wal_autocheckpoint(8192)")
		// IMMEDIATE takes the write lock at BEGIN, so a transaction never
		// fails half-way when another process (chatctl) holds the lock: it
		// waits up to busy_timeout before doing anything.
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_query_only", "1")
	}
	return path + "?" + q.Encode()
}

// Close closes both pools. Leadership held in this process is not released.
func (db *DB) Close() error {
	var errs []error
	for _, s := range db.stmts {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close statement: %w", err))
		}
	}
	if db.read != nil {
		if err := db.read.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close read pool: %w", err))
		}
	}
	if err := db.write.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close writer: %w", err))
	}
	return errors.Join(errs...)
}

// Ping checks that the file can be read and written.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite reader: %w", err)
	}
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite writer: %w", err)
	}
	return nil
}

// prepare prepares the write path's statements once, on the writer, before
// any transaction can hold its only connection: parsing costs more than
// running most of them.
func (db *DB) prepare(ctx context.Context) error {
	for _, q := range writeQueries {
		s, err := db.write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		db.stmts[q] = s
	}
	return nil
}

// txStmts hands out statements bound to one transaction: those prepared at
// Open, or prepared on the transaction itself and kept until it ends (the
// read-model queries, whose table names depend on the version).
type txStmts struct {
	db    *DB
	tx    *sql.Tx
	local map[string]*sql.Stmt
}

func (t *txStmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := t.local[query]; ok {
		return s, nil
	}
	var s *sql.Stmt
	if shared, ok := t.db.stmts[query]; ok {
		s = t.tx.StmtContext(ctx, shared)
	} else {
		var err error
		if s, err = t.tx.PrepareContext(ctx, query); err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	if t.local == nil {
		t.local = map[string]*sql.Stmt{}
	}
	t.local[query] = s
	return s, nil
}

// exec runs query in the transaction.
func (t *txStmts) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := t.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// queryRow runs query in the transaction, expecting at most one row.
func (t *txStmts) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	s, err := t.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryRowContext(ctx, args...), nil
}
