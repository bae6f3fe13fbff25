package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ eventstore.Backend = (*DB)(nil)

// Writers is how many append transactions are worth running at once: a few,
// so one batch's round trips overlap another's commit.
func (db *DB) Writers() int { return db.cfg.Writers }

// Begin opens an append transaction. Round trips are the cost of the write
// path, so BEGIN rides along with the first statement, and the writes
// nobody reads back before commit (inline state, heads) ride along with
// COMMIT.
func (db *DB) Begin(ctx context.Context) (eventstore.Tx, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin append: acquire: %w", err)
	}
	return &appendTx{db: db, conn: conn, pending: &pgx.Batch{}}, nil
}

// appendTx drives BEGIN/COMMIT itself on a pooled connection rather than
// through pgx.Tx, so both can share a round trip with other statements.
type appendTx struct {
	db      *DB
	conn    *pgxpool.Conn // nil once finished
	begun   bool
	pending *pgx.Batch // queued writes, sent before the next read or at commit
}

// send sends the pending statements and b's (BEGIN first if needed) in one
// round trip and returns b's results; the caller must close them.
func (t *appendTx) send(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, int, error) {
	if t.conn == nil {
		return nil, 0, errors.New("append transaction already finished")
	}
	all := &pgx.Batch{}
	if !t.begun {
		all.Queue("BEGIN")
	}
	all.QueuedQueries = append(all.QueuedQueries, t.pending.QueuedQueries...)
	skip := len(all.QueuedQueries)
	if b != nil {
		all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	}
	t.begun = true
	t.pending = &pgx.Batch{}
	res := t.conn.SendBatch(ctx, all)
	for _, qq := range all.QueuedQueries[:skip] {
		var err error
		if qq.Fn != nil {
			err = qq.Fn(res)
		} else {
			_, err = res.Exec()
		}
		if err != nil {
			return nil, 0, errors.Join(err, res.Close())
		}
	}
	return res, skip, nil
}

// query runs one statement after the pending ones.
func (t *appendTx) query(ctx context.Context, sql string, args ...any) (pgx.Rows, func() error, error) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	res, _, err := t.send(ctx, b)
	if err != nil {
		return nil, nil, err
	}
	rows, err := res.Query()
	if err != nil {
		return nil, nil, errors.Join(err, res.Close())
	}
	return rows, res.Close, nil
}

// insertEvents appends all rows in one statement. unnest keeps the input
// order, so identities are handed out in it; RETURNING carries the id too,
// so the result does not rely on that.
const insertEvents = `INSERT INTO events (event_id, stream, version, type, data, metadata, recorded_at, prev_hash, hash, idempotency_key)
	SELECT id, stream, version, type, data, metadata, recorded_at, prev_hash, hash, NULLIF(key, '')
	FROM unnest($1::uuid[], $2::text[], $3::int8[], $4::text[], $5::json[], $6::json[], $7::timestamptz[],
		$8::bytea[], $9::bytea[], $10::text[])
		AS u(id, stream, version, type, data, metadata, recorded_at, prev_hash, hash, key)
	RETURNING event_id, position, transaction_id`

// Insert queues the insert of events; it is sent with the next read or
// with COMMIT, which fills in their Position and TxID (so they are set when
// Commit returns, as the contract allows).
func (t *appendTx) Insert(_ context.Context, events []domain.Event, idempotencyKeys []string) error {
	n := len(events)
	// pgtype.UUID encodes directly; uuid.UUID would go through its
	// driver.Valuer, a string per id.
	ids := make([]pgtype.UUID, n)
	streams, types := make([]string, n), make([]string, n)
	versions := make([]int64, n)
	data, meta, prev, hash := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
	at := make([]time.Time, n)
	for i := range events {
		e := &events[i]
		ids[i] = pgtype.UUID{Bytes: e.ID, Valid: true}
		streams[i], versions[i], types[i] = e.Stream, e.Version, e.Type
		data[i], meta[i], at[i], prev[i], hash[i] = e.Data, e.Metadata, e.RecordedAt, e.PrevHash, e.Hash
	}
	t.pending.Queue(insertEvents, ids, streams, versions, types, data, meta, at, prev, hash, idempotencyKeys).
		Query(func(rows pgx.Rows) error { return fillPositions(rows, events) })
	return nil
}

// fillPositions reads insertEvents' RETURNING rows into events.
func fillPositions(rows pgx.Rows, events []domain.Event) error {
	n, i := len(events), 0
	var id pgtype.UUID
	var pos int64
	var txID uint64
	_, err := pgx.ForEachRow(rows, []any{&id, &pos, &txID}, func() error {
		j := i
		if j >= n || events[j].ID != id.Bytes {
			j = indexOf(events, id.Bytes)
		}
		if j < 0 {
			return fmt.Errorf("insert returned unknown event %s", id)
		}
		events[j].Position, events[j].TxID = pos, txID
		i++
		return nil
	})
	if err == nil && i != n {
		err = fmt.Errorf("inserted %d rows, want %d", i, n)
	}
	if err != nil {
		return fmt.Errorf("insert %d events: %w", n, err)
	}
	return nil
}

func indexOf(events []domain.Event, id uuid.UUID) int {
	for i := range events {
		if events[i].ID == id {
			return i
		}
	}
	return -1
}

// SetHeads queues the new heads; they are sent with COMMIT at the latest.
func (t *appendTx) SetHeads(_ context.Context, heads map[string]eventstore.Head) error {
	names := make([]string, 0, len(heads))
	versions := make([]int64, 0, len(heads))
	hashes := make([][]byte, 0, len(heads))
	for name, h := range heads {
		names, versions, hashes = append(names, name), append(versions, h.Version), append(hashes, h.Hash)
	}
	t.pending.Queue(`UPDATE streams SET version = u.version, hash = u.hash
		FROM unnest($1::text[], $2::int8[], $3::bytea[]) AS u(stream, version, hash)
		WHERE streams.stream = u.stream`, names, versions, hashes)
	return nil
}

// PutSecret stores a password hash (replacing the user's earlier one) or a
// new session.
func (t *appendTx) PutSecret(_ context.Context, s domain.Secret) error {
	switch s.Kind {
	case domain.SecretPassword:
		t.pending.Queue(`INSERT INTO passwords (user_id, username, hash) VALUES ($1, $2, $3)
			ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, hash = excluded.hash`,
			s.UserID, s.Username, s.Hash)
	case domain.SecretSession:
		t.pending.Queue(`INSERT INTO sessions (session_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)`,
			s.SessionID, s.UserID, s.Hash, s.ExpiresAt)
	default:
		return fmt.Errorf("store secret: unknown kind %d", s.Kind)
	}
	return nil
}

// RevokeSession marks the session revoked in this transaction.
func (t *appendTx) RevokeSession(_ context.Context, sessionID uuid.UUID) error {
	t.pending.Queue(`UPDATE sessions SET revoked_at = now() WHERE session_id = $1 AND revoked_at IS NULL`, sessionID)
	return nil
}

// Commit sends the queued writes, wakes the log's tailers (NOTIFY is
// delivered at commit) and commits, in one round trip.
func (t *appendTx) Commit(ctx context.Context) error {
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_notify('chat_events', '')`)
	b.Queue(`COMMIT`)
	res, _, err := t.send(ctx, b)
	if err != nil {
		return errors.Join(fmt.Errorf("commit: %w", err), t.Rollback(ctx))
	}
	if err := readThroughCommit(res, b.Len()); err != nil {
		return errors.Join(fmt.Errorf("commit: %w", err), t.Rollback(ctx))
	}
	t.release()
	return nil
}

// Rollback abandons the transaction; after Commit it does nothing. A
// connection that cannot roll back is closed rather than reused.
func (t *appendTx) Rollback(ctx context.Context) error {
	if t.conn == nil {
		return nil
	}
	var err error
	if t.begun && !t.conn.Conn().IsClosed() {
		if _, err = t.conn.Exec(ctx, "ROLLBACK"); err != nil {
			err = fmt.Errorf("rollback: %w", err)
			_ = t.conn.Conn().Close(context.Background())
		}
	}
	t.release()
	return err
}

func (t *appendTx) release() {
	t.conn.Release()
	t.conn = nil
}
