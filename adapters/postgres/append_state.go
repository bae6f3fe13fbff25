package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/chatlog/chat/domain"
	"github.com/jackc/pgx/v5"
)

// Message states are not stored in inline_state: there is one per message
// ever posted, and its row (heap tuple, key index entry, upsert) cost about
// a quarter of an append. They are derived from the message's own events
// instead, found through events_message (see the migration), which costs
// one index entry per message and cannot drift from the log.

// messageEvents finds the events whose fold is a message's state, in log
// order. The type list is spelled out so the planner can match the partial
// index's predicate.
var messageEvents = `SELECT type, data FROM events
	WHERE type IN ('` + strings.Join(domain.MessageStateEvents, "', '") + `') AND data->>'id' = ANY($1::text[])
	ORDER BY transaction_id, position`

// LoadState returns the inline state values of the keys that exist, stored
// ones and derived ones alike, in one round trip.
func (t *appendTx) LoadState(ctx context.Context, keys []string) (map[string][]byte, error) {
	b := &pgx.Batch{}
	q := queueState(b, keys)
	res, _, err := t.send(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	values, err := q.read(res)
	if cerr := res.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("load state: %w", cerr)
	}
	return values, err
}

// stateQuery is a queued read of inline state keys.
type stateQuery struct {
	n               int
	stored, derived []string
}

// queueState queues the reads of keys: stored ones from inline_state,
// message states from their events.
func queueState(b *pgx.Batch, keys []string) stateQuery {
	q := stateQuery{n: len(keys)}
	var ids []string
	for _, k := range keys {
		if id, ok := domain.ParseMessageKey(k); ok {
			q.derived, ids = append(q.derived, k), append(ids, id.String())
		} else {
			q.stored = append(q.stored, k)
		}
	}
	if len(q.stored) > 0 {
		b.Queue(`SELECT key, value FROM inline_state WHERE key = ANY($1::text[])`, q.stored)
	}
	if len(q.derived) > 0 {
		b.Queue(messageEvents, ids)
	}
	return q
}

// read reads the results queueState queued.
func (q stateQuery) read(res pgx.BatchResults) (map[string][]byte, error) {
	values := make(map[string][]byte, q.n)
	var err error
	if len(q.stored) > 0 {
		err = readStored(res, values)
	}
	if err == nil && len(q.derived) > 0 {
		err = readDerived(res, q.derived, values)
	}
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	return values, nil
}

func readStored(res pgx.BatchResults, values map[string][]byte) error {
	rows, err := res.Query()
	if err != nil {
		return err
	}
	var k string
	var v []byte
	_, err = pgx.ForEachRow(rows, []any{&k, &v}, func() error {
		values[k] = v
		v = nil // ForEachRow reuses the target; each value keeps its own bytes
		return nil
	})
	return err
}

// readDerived folds the messages' events into the values of keys.
func readDerived(res pgx.BatchResults, keys []string, values map[string][]byte) error {
	rows, err := res.Query()
	if err != nil {
		return err
	}
	var events []domain.Event
	var e domain.Event
	_, err = pgx.ForEachRow(rows, []any{&e.Type, &e.Data}, func() error {
		events = append(events, e)
		e.Data = nil
		return nil
	})
	if err != nil {
		return err
	}
	folded, err := domain.FoldState(events, keys)
	if err != nil {
		return errors.Join(errors.New("derive message states"), err)
	}
	for k, v := range folded {
		values[k] = v
	}
	return nil
}

// SaveState queues the upserts and deletes; they are sent with the next
// statement or with COMMIT. Message states are left out: they are derived.
func (t *appendTx) SaveState(_ context.Context, keys []string, values [][]byte) error {
	var putK, delK []string
	var putV [][]byte
	for i, k := range keys {
		switch {
		case isDerived(k):
		case values[i] == nil:
			delK = append(delK, k)
		default:
			putK, putV = append(putK, k), append(putV, values[i])
		}
	}
	if len(delK) > 0 {
		t.pending.Queue(`DELETE FROM inline_state WHERE key = ANY($1::text[])`, delK)
	}
	if len(putK) > 0 {
		t.pending.Queue(`INSERT INTO inline_state (key, value) SELECT * FROM unnest($1::text[], $2::bytea[])
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, putK, putV)
	}
	return nil
}

func isDerived(key string) bool {
	_, ok := domain.ParseMessageKey(key)
	return ok
}
