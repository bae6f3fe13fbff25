// Package platform opens the storage a chat process runs on, in either
// mode: the embedded SQLite file, or PostgreSQL. chatd and chatctl share it
// so both always see the same store the same way.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/chatlog/chat/adapters/bus"
	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/adapters/httpapi"
	"github.com/chatlog/chat/adapters/lease"
	"github.com/chatlog/chat/adapters/ws"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/prometheus/client_golang/prometheus"
)

// DB is what both database adapters provide once wrapped: the log, the
// relay's source, and every read the API, the gateway and the lease
// reaper make.
type DB interface {
	eventstore.Backend
	bus.RelaySource
	httpapi.Accounts
	httpapi.Rooms
	httpapi.History
	httpapi.Waiter
	ws.History
	ws.RoomReader
	lease.Presence
	Ping(ctx context.Context) error
	CursorAt(ctx context.Context, position int64) (c domain.Cursor, ok bool, err error)
}

// Options says which store to open.
type Options struct {
	DatabaseURL string // "" opens the embedded store under DataDir
	DataDir     string
	Logger      *slog.Logger
	Registerer  prometheus.Registerer // nil: no metrics
}

// Platform is an open store with the write path running on it.
type Platform struct {
	DB          DB
	Projections projections.Store
	Store       *eventstore.Store
	Embedded    bool
	closeDB     func() error
}

// Open connects (applying migrations) and starts the write path.
func Open(ctx context.Context, o Options) (*Platform, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	p := &Platform{Embedded: o.DatabaseURL == ""}
	var err error
	if p.Embedded {
		err = p.openSQLite(ctx, o)
	} else {
		err = p.openPostgres(ctx, o)
	}
	if err != nil {
		return nil, err
	}
	var metrics *eventstore.Metrics
	if o.Registerer != nil {
		metrics = eventstore.NewMetrics(o.Registerer)
	}
	store, err := eventstore.New(eventstore.Config{Backend: p.DB, Logger: o.Logger, Metrics: metrics})
	if err != nil {
		_ = p.closeDB()
		return nil, err
	}
	p.Store = store
	return p, nil
}

func (p *Platform) openSQLite(ctx context.Context, o Options) error {
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", o.DataDir, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data dir %s: %w", dir, err)
	}
	db, err := openSQLite(ctx, dir, o.Logger)
	if err != nil {
		return fmt.Errorf("open embedded store in %s: %w", dir, err)
	}
	p.DB, p.Projections, p.closeDB = sqliteReads{db}, db.Projections(), db.Close
	return nil
}

func (p *Platform) openPostgres(ctx context.Context, o Options) error {
	openCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	db, err := openPostgres(openCtx, o.DatabaseURL, o.Logger)
	if err != nil {
		return fmt.Errorf("open PostgreSQL: %w", err)
	}
	p.DB, p.Projections = postgresReads{db}, db.Projections()
	p.closeDB = func() error { db.Close(); return nil }
	return nil
}

// Close stops the write path once queued commands are written, then
// closes the database.
func (p *Platform) Close() error {
	p.Store.Close()
	return p.closeDB()
}

// ReadModels are the projections every deployment keeps, in the order a
// runner starts them.
func ReadModels() []projections.Projection {
	return []projections.Projection{projections.Approval{}, projections.Rooms{}, projections.History{},
		projections.Presence{}, projections.ReadMarkers{}}
}

// NewRunner returns a projection runner over the platform's store and log.
// updates and metrics may be nil.
func (p *Platform) NewRunner(updates projections.UpdatePublisher, metrics *projections.RunnerMetrics, log *slog.Logger) (*projections.Runner, error) {
	return projections.NewRunner(projections.RunnerConfig{
		Store: p.Projections, Log: p.DB, Head: p.DB, Projections: ReadModels(),
		Updates: updates, Logger: log, Metrics: metrics,
	})
}
