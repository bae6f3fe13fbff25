package postgres

import (
	"context"
	"fmt"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
	"github.com/jackc/pgx/v5"
)

// lockStreams takes each stream's transaction-scoped advisory lock, in one
// global order (by key, so concurrent appenders queue instead of
// deadlocking), before the transaction writes anything. That is what keeps
// each stream's versions in order in the log: the log is read in
// transaction id order, and PostgreSQL hands out the id at a transaction's
// first write. Row locks (SELECT ... FOR UPDATE) are writes: a transaction
// that locked one stream's row and then queued for another's got its id
// before the holder it queued behind wrote the lower version, and its
// higher version came first in the log (gateways then saw a room's seq
// n+1 before n). An advisory lock is not a write, so a transaction gets
// its id only once it holds every lock it needs, after every earlier
// holder of those streams committed. Keys colliding (hashtext is 32 bits)
// only makes two streams queue for each other. The first key, 1667785076
// ("chat" in ASCII), sets stream locks apart; being two-key locks they
// never conflict with the one-key leadership locks (relay.go).
const lockStreams = `SELECT pg_advisory_xact_lock(1667785076, k)
	FROM (SELECT DISTINCT hashtext(s) AS k FROM unnest($1::text[]) AS s ORDER BY 1) AS keys`

// queueLock queues locking streams, creating their missing head rows and
// reading their heads. Whatever is queued after it runs with the locks
// held and sees every earlier holder's commit (PostgreSQL frees locks
// after the commit is visible).
func queueLock(b *pgx.Batch, streams []string) {
	b.Queue(lockStreams, streams)
	b.Queue(`INSERT INTO streams (stream, version) SELECT s, 0 FROM unnest($1::text[]) AS s ORDER BY s
		ON CONFLICT (stream) DO NOTHING`, streams)
	b.Queue(`SELECT stream, version, hash FROM streams WHERE stream = ANY($1::text[])`, streams)
}

// readHeads reads the results of queueLock.
func readHeads(res pgx.BatchResults, n int) (map[string]eventstore.Head, error) {
	if _, err := res.Exec(); err != nil {
		return nil, fmt.Errorf("lock streams: %w", err)
	}
	if _, err := res.Exec(); err != nil {
		return nil, fmt.Errorf("create stream heads: %w", err)
	}
	rows, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("read stream heads: %w", err)
	}
	heads := make(map[string]eventstore.Head, n)
	var name string
	var h eventstore.Head
	_, err = pgx.ForEachRow(rows, []any{&name, &h.Version, &h.Hash}, func() error {
		heads[name] = h
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read stream heads: %w", err)
	}
	return heads, nil
}

// LockStreams locks streams and returns their heads (see queueLock).
func (t *appendTx) LockStreams(ctx context.Context, streams []string) (map[string]eventstore.Head, error) {
	b := &pgx.Batch{}
	queueLock(b, streams)
	res, _, err := t.send(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("lock streams: %w", err)
	}
	heads, err := readHeads(res, len(streams))
	if cerr := res.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("lock streams: %w", cerr)
	}
	return heads, err
}

var _ eventstore.LockLoader = (*appendTx)(nil)

// LockAndLoad locks streams and reads the batch's inline state and
// idempotency records in the same round trip: a batch of posts costs two
// round trips (this and COMMIT) instead of four.
func (t *appendTx) LockAndLoad(ctx context.Context, streams []string, p eventstore.Prefetch) (eventstore.Loaded, error) {
	b := &pgx.Batch{}
	queueLock(b, streams)
	state := queueState(b, p.Keys)
	if len(p.Idempotency) > 0 {
		queueIdempotent(b, p.Idempotency)
	}
	res, _, err := t.send(ctx, b)
	if err != nil {
		return eventstore.Loaded{}, fmt.Errorf("lock and load: %w", err)
	}
	var loaded eventstore.Loaded
	loaded.Heads, err = readHeads(res, len(streams))
	if err == nil {
		loaded.State, err = state.read(res)
	}
	if err == nil && len(p.Idempotency) > 0 {
		loaded.Idempotent, err = readIdempotent(res)
	}
	if cerr := res.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("lock and load: %w", cerr)
	}
	return loaded, err
}

// FindIdempotent returns the event recorded on stream under key, or nil.
func (t *appendTx) FindIdempotent(ctx context.Context, stream, key string) (*domain.Event, error) {
	rows, closeRes, err := t.query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE stream = $1 AND idempotency_key = $2`, stream, key)
	if err != nil {
		return nil, fmt.Errorf("find idempotent: %w", err)
	}
	events, err := collectEvents(rows)
	if cerr := closeRes(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("find idempotent: %w", err)
	}
	if len(events) == 0 {
		return nil, nil
	}
	return &events[0], nil
}

func queueIdempotent(b *pgx.Batch, keys []eventstore.IdempotencyKey) {
	streams, names := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		streams[i], names[i] = k.Stream, k.Key
	}
	b.Queue(`SELECT `+eventColumns+`, idempotency_key FROM events
		WHERE (stream, idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, streams, names)
}

func readIdempotent(res pgx.BatchResults) (map[eventstore.IdempotencyKey]domain.Event, error) {
	rows, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("find idempotent: %w", err)
	}
	defer rows.Close()
	found := map[eventstore.IdempotencyKey]domain.Event{}
	for rows.Next() {
		var key string
		e, err := scanEvent(rows, &key)
		if err != nil {
			return nil, fmt.Errorf("find idempotent: %w", err)
		}
		found[eventstore.IdempotencyKey{Stream: e.Stream, Key: key}] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find idempotent: %w", err)
	}
	return found, nil
}
