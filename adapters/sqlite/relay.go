package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/chatlog/chat/domain"
)

// relayName keys the relay's checkpoint row; one relay per deployment.
const relayName = "relay"

// LoadRelayCheckpoint returns the cursor up to which the relay published,
// or the zero cursor.
func (db *DB) LoadRelayCheckpoint(ctx context.Context) (domain.Cursor, error) {
	var txID, pos int64
	err := db.read.QueryRowContext(ctx,
		`SELECT transaction_id, position FROM relay_checkpoint WHERE name = ?`, relayName).Scan(&txID, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Cursor{}, nil
	}
	if err != nil {
		return domain.Cursor{}, fmt.Errorf("load relay checkpoint: %w", err)
	}
	return domain.Cursor{TxID: uint64(txID), Position: pos}, nil
}

// SaveRelayCheckpoint records the cursor up to which the relay published.
func (db *DB) SaveRelayCheckpoint(ctx context.Context, c domain.Cursor) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO relay_checkpoint (name, transaction_id, position) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id, position = excluded.position`,
		relayName, int64(c.TxID), c.Position)
	if err != nil {
		return fmt.Errorf("save relay checkpoint %s: %w", c, err)
	}
	return nil
}

// Wakeups signals after each commit that appended events, until ctx ends,
// when the channel closes. Signals coalesce: a subscriber that is busy gets
// one signal for many commits, never a blocked writer. Only commits of this
// process signal; the relay's poll covers other processes (chatctl).
func (db *DB) Wakeups(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	db.wakeMu.Lock()
	db.wakers[ch] = struct{}{}
	db.wakeMu.Unlock()
	context.AfterFunc(ctx, func() {
		db.wakeMu.Lock()
		delete(db.wakers, ch)
		db.wakeMu.Unlock()
		// Closed under no lock but after removal: wake no longer sees it.
		close(ch)
	})
	return ch
}

func (db *DB) wake() {
	db.wakeMu.Lock()
	defer db.wakeMu.Unlock()
	for ch := range db.wakers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// leaders is an in-process lock per name: the embedded mode is one process.
type leaders struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when released
}

// AcquireLeadership waits until no one in this process holds name, then
// holds it until release. lost never closes before release: nothing else
// can take an in-process lock away.
func (db *DB) AcquireLeadership(ctx context.Context, name string) (<-chan struct{}, func(), error) {
	l := &db.leaders
	for {
		l.mu.Lock()
		freed, busy := l.held[name]
		if !busy {
			mine := make(chan struct{})
			l.held[name] = mine
			l.mu.Unlock()
			var once sync.Once
			release := func() {
				once.Do(func() {
					l.mu.Lock()
					delete(l.held, name)
					l.mu.Unlock()
					close(mine)
				})
			}
			// lost and the release signal are one channel: it closes only
			// when the holder itself lets go.
			return mine, release, nil
		}
		l.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("acquire leadership %s: %w", name, ctx.Err())
		}
	}
}
