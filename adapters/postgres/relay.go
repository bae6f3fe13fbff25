package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/jackc/pgx/v5"
)

// notifyChannel is the channel append transactions NOTIFY at commit.
const notifyChannel = "chat_events"

// retryEvery paces reconnects and leadership attempts.
const retryEvery = time.Second

// LoadRelayCheckpoint returns where the relay has published up to (zero
// before its first save).
func (db *DB) LoadRelayCheckpoint(ctx context.Context) (domain.Cursor, error) {
	var c domain.Cursor
	err := db.pool.QueryRow(ctx, `SELECT transaction_id, position FROM relay_checkpoint WHERE id = 1`).Scan(&c.TxID, &c.Position)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Cursor{}, nil
	}
	if err != nil {
		return domain.Cursor{}, fmt.Errorf("load relay checkpoint: %w", err)
	}
	return c, nil
}

// SaveRelayCheckpoint records where the relay has published up to. The
// commit does not wait for the disk (queueAsyncBegin): the relay saves
// between batches, and a flush that stalls (tens of milliseconds were
// seen) held up every event behind it. A checkpoint a crash loses only
// makes the relay publish those batches again, which projections and
// gateways skip.
func (db *DB) SaveRelayCheckpoint(ctx context.Context, c domain.Cursor) error {
	b := &pgx.Batch{}
	queueAsyncBegin(b)
	b.Queue(`INSERT INTO relay_checkpoint (id, transaction_id, position) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET transaction_id = excluded.transaction_id, position = excluded.position`,
		c.TxID, c.Position)
	b.Queue(`COMMIT`)
	if err := readThroughCommit(db.pool.SendBatch(ctx, b), b.Len()); err != nil {
		return fmt.Errorf("save relay checkpoint %s: %w", c, err)
	}
	return nil
}

// Wakeups signals (coalesced, never blocking the listener) whenever an
// append commits, from a dedicated connection that LISTENs on chat_events.
// A dropped connection is re-opened, with a signal after each reconnect
// since commits in between were not heard. The channel closes when ctx
// ends. Callers still poll now and then: notifications are a hint.
func (db *DB) Wakeups(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	wake := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			err := db.listen(ctx, wake)
			if ctx.Err() != nil {
				return
			}
			db.log.Warn("log wake-ups: listener lost; reconnecting", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(retryEvery):
			}
		}
	}()
	return out
}

// listen holds one LISTEN connection until it fails or ctx ends.
func (db *DB) listen(ctx context.Context, wake func()) error {
	conn, err := db.connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		wake()
	}
}

// AcquireLeadership blocks until this process holds the session advisory
// lock of name on a dedicated connection, trying every second. PostgreSQL
// frees the lock when that connection ends, so when a leader's process
// dies another node takes over within about a second. lost closes if the
// connection fails while held; release unlocks and closes it.
func (db *DB) AcquireLeadership(ctx context.Context, name string) (<-chan struct{}, func(), error) {
	// A standby keeps its connection between attempts: a new backend every
	// second per lock and node cost PostgreSQL more CPU than the attempts.
	var conn *pgx.Conn
	for {
		got, err := db.tryLock(ctx, &conn, name)
		if got {
			return db.hold(conn, name)
		}
		if err != nil {
			db.log.Warn("leadership: attempt failed", "name", name, "err", err)
		}
		select {
		case <-ctx.Done():
			if conn != nil {
				_ = conn.Close(context.Background())
			}
			return nil, nil, fmt.Errorf("acquire leadership %s: %w", name, ctx.Err())
		case <-time.After(retryEvery):
		}
	}
}

// tryLock tries for the lock on *conn, connecting first if it is nil; a
// connection that failed is closed and *conn set to nil.
func (db *DB) tryLock(ctx context.Context, conn **pgx.Conn, name string) (bool, error) {
	if *conn == nil {
		c, err := db.connect(ctx)
		if err != nil {
			return false, err
		}
		*conn = c
	}
	var got bool
	if err := (*conn).QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, name).Scan(&got); err != nil {
		_ = (*conn).Close(context.Background())
		*conn = nil
		return false, fmt.Errorf("try lock %s: %w", name, err)
	}
	return got, nil
}

// hold watches the lock's connection until release.
func (db *DB) hold(conn *pgx.Conn, name string) (<-chan struct{}, func(), error) {
	lost := make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(retryEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
			err := conn.Ping(ctx)
			cancel()
			if err != nil {
				db.log.Error("leadership lost: lock connection failed", "name", name, "err", err)
				close(lost)
				return
			}
		}
	})
	var once sync.Once
	release := func() {
		once.Do(func() {
			close(stop)
			wg.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
			defer cancel()
			if !conn.IsClosed() {
				if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtext($1))`, name); err != nil {
					db.log.Warn("leadership: unlock (closing the connection frees it anyway)", "name", name, "err", err)
				}
			}
			_ = conn.Close(ctx)
		})
	}
	return lost, release, nil
}
