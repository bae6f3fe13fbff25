package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/chatlog/chat/domain"
)

// waitPoll bounds how stale WaitFor can be about commits it is not told of
// (those of another process on the same file, such as chatctl).
const waitPoll = 50 * time.Millisecond

// WaitFor returns once the serving version of projection name has applied
// the log up to cursor c, or ctx ends. It gives read-your-writes: a caller
// that appended at c reads the read model after WaitFor returns.
func (db *DB) WaitFor(ctx context.Context, name string, c domain.Cursor) error {
	for {
		// Take the signal before reading, so a commit in between is not missed.
		committed := db.projectionCommits()
		version, err := servingVersion(ctx, db.read, name)
		if err != nil {
			return fmt.Errorf("wait for %s at %s: %w", name, c, err)
		}
		cp, err := checkpointOf(ctx, db.read, name, version)
		if err != nil {
			return fmt.Errorf("wait for %s at %s: %w", name, c, err)
		}
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

// projectionCommits returns a channel closed at the next projection commit.
func (db *DB) projectionCommits() <-chan struct{} {
	db.projMu.Lock()
	defer db.projMu.Unlock()
	return db.projCommitted
}

// projectionCommitted wakes every WaitFor.
func (db *DB) projectionCommitted() {
	db.projMu.Lock()
	defer db.projMu.Unlock()
	close(db.projCommitted)
	db.projCommitted = make(chan struct{})
}
