// Package eventstore runs commands against the event log: it locks the
// command's streams, loads the inline state, lets the domain decide, chains
// the hashes and appends, gathering concurrent commands into one transaction
// (group commit). The databases themselves are Backends (adapters/postgres,
// adapters/sqlite); this package holds what both share, so the write path
// and its rules exist once.
//
// It must never import a database driver or another adapter.
package eventstore

import (
	"context"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// Head is a stream's latest version and hash.
type Head struct {
	Version int64
	Hash    []byte
}

// Backend is a database holding the log, the inline state and the secrets.
type Backend interface {
	// Begin opens a write transaction. Writers may run concurrently; stream
	// locks (Tx.LockStreams) order those that touch the same streams.
	Begin(ctx context.Context) (Tx, error)
	// Writers is how many write transactions are worth running at once
	// (1 for a single-writer database).
	Writers() int
	Reader
}

// Reader reads the recorded log.
type Reader interface {
	// ReadStream returns up to limit events of stream with version > after,
	// in version order.
	ReadStream(ctx context.Context, stream string, after int64, limit int) ([]domain.Event, error)
	// ReadAll returns up to limit events after cursor in commit order. It
	// only returns events of transactions that can no longer be overtaken by
	// an earlier, still running one, so a tailer that advances its cursor to
	// the last event returned never skips an event.
	ReadAll(ctx context.Context, after domain.Cursor, limit int) ([]domain.Event, error)
	// Heads returns the head of every stream, in stream name order.
	Heads(ctx context.Context) (map[string]Head, error)
}

// Tx is one write transaction. Every method may be called several times;
// none is safe for concurrent use. Errors are the database's, wrapped.
type Tx interface {
	// LockStreams locks the head rows of streams (given sorted and unique),
	// creating missing ones at version 0, and returns their heads. Locks are
	// held until Commit or Rollback.
	LockStreams(ctx context.Context, streams []string) (map[string]Head, error)
	// FindIdempotent returns the event appended earlier on stream with key,
	// or nil.
	FindIdempotent(ctx context.Context, stream, key string) (*domain.Event, error)
	// LoadState returns the values of the inline state keys that exist.
	LoadState(ctx context.Context, keys []string) (map[string][]byte, error)
	// SaveState writes values of keys; a nil value deletes the key.
	SaveState(ctx context.Context, keys []string, values [][]byte) error
	// Insert appends fully formed events (version and hashes set) and fills
	// in their Position and TxID, at the latest when Commit returns (a
	// backend may send the statement with COMMIT, to save a round trip).
	// idempotencyKeys is parallel to events; "" means none.
	Insert(ctx context.Context, events []domain.Event, idempotencyKeys []string) error
	// SetHeads records new stream heads.
	SetHeads(ctx context.Context, heads map[string]Head) error
	// PutSecret stores a password hash or a session.
	PutSecret(ctx context.Context, s domain.Secret) error
	// RevokeSession ends a session so its token stops working at once.
	RevokeSession(ctx context.Context, sessionID uuid.UUID) error
	// Commit makes everything durable and wakes log tailers.
	Commit(ctx context.Context) error
	// Rollback abandons the transaction; after Commit it does nothing.
	Rollback(ctx context.Context) error
}

// IdempotencyKey names an idempotent append: a key on a stream.
type IdempotencyKey struct {
	Stream, Key string
}

// Prefetch is what a batch's decisions will read: inline state keys and
// idempotency keys.
type Prefetch struct {
	Keys        []string
	Idempotency []IdempotencyKey
}

// Loaded is what LockAndLoad read.
type Loaded struct {
	Heads      map[string]Head
	State      map[string][]byte // the keys that exist
	Idempotent map[IdempotencyKey]domain.Event
}

// LockLoader is an optional Tx extension: it locks streams (as
// LockStreams) and then reads what the batch needs, in one round trip
// instead of three. The reads must come after the locks, so they see every
// earlier lock holder's commit.
type LockLoader interface {
	LockAndLoad(ctx context.Context, streams []string, p Prefetch) (Loaded, error)
}
