// Package postgres is the production store: the event log with its stream
// heads, inline state and secrets (an eventstore.Backend), the relay's
// source (commit-safe tailing, checkpoint, wake-ups, leadership) and the
// versioned read models (a projections.Store), all on pgx/v5.
//
// It must never import another adapter or cmd.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures Open.
type Config struct {
	// URL is a PostgreSQL connection string (postgres://user@host/db).
	URL string
	// MaxConns caps the pool; default 16.
	MaxConns int
	// Writers is how many append transactions run at once; default 2. More
	// writers overlap round trips, fewer make larger group commits; on two
	// cores shared with the database, 2 measured best.
	Writers int
	// IdleInTxTimeout ends sessions idle inside a transaction for longer, so
	// a stuck appender cannot hold back commit-safe tailing (which waits for
	// every older transaction) forever; default 10s.
	IdleInTxTimeout time.Duration
	Logger          *slog.Logger
}

func (c *Config) setDefaults() {
	if c.MaxConns <= 0 {
		c.MaxConns = 16
	}
	if c.Writers <= 0 {
		c.Writers = 2
	}
	if c.IdleInTxTimeout <= 0 {
		c.IdleInTxTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a configuration Open cannot use.
func (c *Config) Validate() error {
	if c.URL == "" {
		return errors.New("postgres: no URL")
	}
	if c.Writers > c.MaxConns {
		return fmt.Errorf("postgres: %d writers need at least as many connections, have %d", c.Writers, c.MaxConns)
	}
	return nil
}

// DB is an open PostgreSQL store.
type DB struct {
	pool    *pgxpool.Pool
	cfg     Config
	connCfg *pgx.ConnConfig // for the dedicated LISTEN and leadership connections
	log     *slog.Logger
	waits   *waiters
	serving servingCache // serving versions of the read models
}

// Open connects, applies the migrations and returns the store.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	poolCfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse URL: %w", err)
	}
	poolCfg.MaxConns = int32(cfg.MaxConns)
	poolCfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] =
		strconv.FormatInt(cfg.IdleInTxTimeout.Milliseconds(), 10)
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	db := &DB{pool: pool, cfg: cfg, connCfg: poolCfg.ConnConfig.Copy(), log: cfg.Logger, waits: newWaiters()}
	if err := db.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes every pooled connection. Dedicated connections (Wakeups,
// AcquireLeadership) end with their contexts and release functions.
func (db *DB) Close() { db.pool.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping PostgreSQL: %w", err)
	}
	return nil
}

// Pool exposes the connection pool to tests and operator tools.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// connect opens a connection outside the pool.
func (db *DB) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, db.connCfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
}
