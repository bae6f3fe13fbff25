package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

const (
	qStreamHead = `SELECT version, hash FROM streams WHERE stream = ?`
	qSetHead    = `INSERT INTO streams (stream, version, hash) VALUES (?, ?, ?)
		ON CONFLICT (stream) DO UPDATE SET version = excluded.version, hash = excluded.hash`
	// Transactions commit in position order, so the newest event carries
	// the highest transaction id.
	qLastTx      = `SELECT transaction_id FROM events ORDER BY position DESC LIMIT 1`
	qInsertEvent = `INSERT INTO events (transaction_id, event_id, stream, version, type, data, metadata,
		recorded_at, prev_hash, hash, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qFindIdempotent = `SELECT ` + eventColumns + ` FROM events WHERE stream = ? AND idempotency_key = ?`
	qLoadState      = `SELECT value FROM inline_state WHERE key = ?`
	qSaveState      = `INSERT INTO inline_state (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	qDeleteState = `DELETE FROM inline_state WHERE key = ?`
	qPutPassword = `INSERT INTO passwords (user_id, username, hash) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, hash = excluded.hash`
	qPutSession = `INSERT INTO sessions (session_id, user_id, token_hash, expires_at) VALUES (?, ?, ?, ?)`
	qRevoke     = `UPDATE sessions SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL`
)

// writeQueries are prepared at Open.
var writeQueries = []string{qStreamHead, qSetHead, qLastTx, qInsertEvent, qFindIdempotent,
	qLoadState, qSaveState, qDeleteState, qPutPassword, qPutSession, qRevoke}

var _ eventstore.Backend = (*DB)(nil)

// Writers is 1: SQLite runs one write transaction at a time.
func (db *DB) Writers() int { return 1 }

// Begin starts an append transaction on the writer (BEGIN IMMEDIATE),
// waiting for the writer while another transaction holds it.
func (db *DB) Begin(ctx context.Context) (eventstore.Tx, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin append: %w", err)
	}
	return &appendTx{txStmts: txStmts{db: db, tx: tx}}, nil
}

// appendTx is an eventstore.Tx. Holding the writer is the lock on every
// stream, so LockStreams only reads heads.
type appendTx struct {
	txStmts
	txID      uint64 // 0 until the first Insert
	committed bool
}

// LockStreams returns the heads of streams. The transaction already holds
// SQLite's only write lock, which orders it against every other writer; a
// stream without a row is at version 0 and gets its row from SetHeads.
func (t *appendTx) LockStreams(ctx context.Context, streams []string) (map[string]eventstore.Head, error) {
	s, err := t.get(ctx, qStreamHead)
	if err != nil {
		return nil, err
	}
	heads := make(map[string]eventstore.Head, len(streams))
	for _, name := range streams {
		var h eventstore.Head
		err := s.QueryRowContext(ctx, name).Scan(&h.Version, &h.Hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("read head of %s: %w", name, err)
		}
		heads[name] = h
	}
	return heads, nil
}

// FindIdempotent returns the event recorded on stream under key, or nil.
func (t *appendTx) FindIdempotent(ctx context.Context, stream, key string) (*domain.Event, error) {
	row, err := t.queryRow(ctx, qFindIdempotent, stream, key)
	if err != nil {
		return nil, err
	}
	e, err := scanEvent(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find %s key %s: %w", stream, key, err)
	}
	return &e, nil
}

// LoadState returns the values of the keys that exist.
func (t *appendTx) LoadState(ctx context.Context, keys []string) (map[string][]byte, error) {
	s, err := t.get(ctx, qLoadState)
	if err != nil {
		return nil, err
	}
	values := make(map[string][]byte, len(keys))
	for _, k := range keys {
		var v []byte
		err := s.QueryRowContext(ctx, k).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load state %s: %w", k, err)
		}
		values[k] = v
	}
	return values, nil
}

// SaveState writes values; a nil value deletes its key.
func (t *appendTx) SaveState(ctx context.Context, keys []string, values [][]byte) error {
	if len(keys) != len(values) {
		return fmt.Errorf("save state: %d keys but %d values", len(keys), len(values))
	}
	for i, k := range keys {
		var err error
		if values[i] == nil {
			_, err = t.exec(ctx, qDeleteState, k)
		} else {
			_, err = t.exec(ctx, qSaveState, k, values[i])
		}
		if err != nil {
			return fmt.Errorf("save state %s: %w", k, err)
		}
	}
	return nil
}

// Insert appends events and fills in Position and TxID.
func (t *appendTx) Insert(ctx context.Context, events []domain.Event, idempotencyKeys []string) error {
	if len(idempotencyKeys) != len(events) {
		return fmt.Errorf("insert: %d events but %d idempotency keys", len(events), len(idempotencyKeys))
	}
	if t.txID == 0 {
		if err := t.nextTxID(ctx); err != nil {
			return err
		}
	}
	s, err := t.get(ctx, qInsertEvent)
	if err != nil {
		return err
	}
	for i := range events {
		e := &events[i]
		var key any
		if idempotencyKeys[i] != "" {
			key = idempotencyKeys[i]
		}
		res, err := s.ExecContext(ctx, int64(t.txID), e.ID.String(), e.Stream, e.Version, e.Type,
			string(e.Data), string(e.Metadata), e.RecordedAt.UnixMilli(), e.PrevHash, e.Hash, key)
		if err != nil {
			return fmt.Errorf("insert %s@%d: %w", e.Stream, e.Version, err)
		}
		if e.Position, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("position of %s@%d: %w", e.Stream, e.Version, err)
		}
		e.TxID = t.txID
	}
	return nil
}

// nextTxID numbers this transaction one past the last committed one.
func (t *appendTx) nextTxID(ctx context.Context) error {
	row, err := t.queryRow(ctx, qLastTx)
	if err != nil {
		return err
	}
	var last int64
	if err := row.Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read last transaction id: %w", err)
	}
	t.txID = uint64(last) + 1
	return nil
}

// SetHeads records new stream heads.
func (t *appendTx) SetHeads(ctx context.Context, heads map[string]eventstore.Head) error {
	for name, h := range heads {
		if _, err := t.exec(ctx, qSetHead, name, h.Version, h.Hash); err != nil {
			return fmt.Errorf("set head of %s: %w", name, err)
		}
	}
	return nil
}

// PutSecret stores a password hash (by user, findable by username) or a
// session (findable by token hash).
func (t *appendTx) PutSecret(ctx context.Context, s domain.Secret) error {
	switch s.Kind {
	case domain.SecretPassword:
		if _, err := t.exec(ctx, qPutPassword, s.UserID.String(), s.Username, s.Hash); err != nil {
			return fmt.Errorf("store password of %s: %w", s.UserID, err)
		}
	case domain.SecretSession:
		_, err := t.exec(ctx, qPutSession, s.SessionID.String(), s.UserID.String(), s.Hash, s.ExpiresAt.UnixMilli())
		if err != nil {
			return fmt.Errorf("store session %s: %w", s.SessionID, err)
		}
	default:
		return fmt.Errorf("store secret: unknown kind %d", s.Kind)
	}
	return nil
}

// RevokeSession marks the session revoked; revoking twice keeps the first time.
func (t *appendTx) RevokeSession(ctx context.Context, sessionID uuid.UUID) error {
	if _, err := t.exec(ctx, qRevoke, time.Now().UnixMilli(), sessionID.String()); err != nil {
		return fmt.Errorf("revoke session %s: %w", sessionID, err)
	}
	return nil
}

// Commit makes the transaction durable (see dsn for what that means here)
// and wakes the log's tailers.
func (t *appendTx) Commit(context.Context) error {
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("commit append: %w", err)
	}
	t.committed = true
	if t.txID != 0 {
		t.db.wake()
	}
	return nil
}

// Rollback abandons the transaction; after Commit it does nothing.
func (t *appendTx) Rollback(context.Context) error {
	if t.committed {
		return nil
	}
	if err := rollbackUnlessDone(t.tx); err != nil {
		return fmt.Errorf("rollback append: %w", err)
	}
	return nil
}
