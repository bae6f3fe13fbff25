package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chatlog/chat/domain"
)

// waitPoll bounds how stale WaitFor is about projection commits of other
// processes, which it is not told of.
const waitPoll = 20 * time.Millisecond

// waiters wakes WaitFor calls when a projection of this process commits.
type waiters struct {
	mu sync.Mutex
	ch chan struct{}
}

func newWaiters() *waiters { return &waiters{ch: make(chan struct{})} }

// next returns a channel closed at the next wake.
func (w *waiters) next() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ch
}

func (w *waiters) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.ch)
	w.ch = make(chan struct{})
}

// WaitFor returns once the serving version of projection name has applied
// the log up to cursor c, or ctx ends. It gives read-your-writes: a caller
// that appended at c reads the read model after WaitFor returns.
func (db *DB) WaitFor(ctx context.Context, name string, c domain.Cursor) error {
	for {
		// Take the signal before reading, so a commit in between is not missed.
		committed := db.waits.next()
		var txID, pos int64
		err := db.pool.QueryRow(ctx, `SELECT c.transaction_id, c.position FROM projections p
			JOIN projection_checkpoints c ON c.name = p.name AND c.version = p.serving_version
			WHERE p.name = $1`, name).Scan(&txID, &pos)
		if err != nil {
			return fmt.Errorf("wait for %s at %s: %w", name, c, err)
		}
		cp := domain.Cursor{TxID: uint64(txID), Position: pos}
		if !cp.Less(c) {
			return nil
		}
		select {
		case <-committed:
		case <-time.After(waitPoll):
		case <-ctx.Done():
			return fmt.Errorf("wait for %s at %s (at %s): %w", name, c, cp, ctx.Err())
		}
	}
}
