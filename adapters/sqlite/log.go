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

const eventColumns = `position, transaction_id, event_id, stream, version, type, data, metadata,
	recorded_at, prev_hash, hash`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanEvent(s scanner) (domain.Event, error) {
	var (
		e          domain.Event
		txID       int64
		id         string
		recordedAt int64
	)
	err := s.Scan(&e.Position, &txID, &id, &e.Stream, &e.Version, &e.Type, (*[]byte)(&e.Data),
		(*[]byte)(&e.Metadata), &recordedAt, &e.PrevHash, &e.Hash)
	if err != nil {
		return e, err
	}
	if e.ID, err = uuid.Parse(id); err != nil {
		return e, fmt.Errorf("event %d id %q: %w", e.Position, id, err)
	}
	e.TxID = uint64(txID)
	e.RecordedAt = time.UnixMilli(recordedAt).UTC()
	return e, nil
}

// ReadStream returns up to limit events of stream with version > after.
func (db *DB) ReadStream(ctx context.Context, stream string, after int64, limit int) ([]domain.Event, error) {
	const q = `SELECT ` + eventColumns + ` FROM events WHERE stream = ? AND version > ? ORDER BY version LIMIT ?`
	events, err := db.queryEvents(ctx, q, stream, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read stream %s after %d: %w", stream, after, err)
	}
	return events, nil
}

// ReadAll returns up to limit events after cursor in commit order.
//
// SQLite commits one transaction at a time, in the order it hands out
// positions, so position order is commit order and every position below the
// newest committed one is already committed or never will be: reading by
// position alone cannot skip an event, and (TxID, Position) order is the
// same order. The cursor's TxID therefore needs no condition of its own.
func (db *DB) ReadAll(ctx context.Context, after domain.Cursor, limit int) ([]domain.Event, error) {
	const q = `SELECT ` + eventColumns + ` FROM events WHERE position > ? ORDER BY position LIMIT ?`
	events, err := db.queryEvents(ctx, q, after.Position, limit)
	if err != nil {
		return nil, fmt.Errorf("read log after %s: %w", after, err)
	}
	return events, nil
}

func (db *DB) queryEvents(ctx context.Context, q string, args ...any) ([]domain.Event, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var events []domain.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, rows.Err()
}

// Heads returns the head of every stream that has events.
func (db *DB) Heads(ctx context.Context) (map[string]eventstore.Head, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT stream, version, hash FROM streams WHERE version > 0 ORDER BY stream`)
	if err != nil {
		return nil, fmt.Errorf("read stream heads: %w", err)
	}
	defer rows.Close()
	heads := map[string]eventstore.Head{}
	for rows.Next() {
		var (
			name string
			h    eventstore.Head
		)
		if err := rows.Scan(&name, &h.Version, &h.Hash); err != nil {
			return nil, fmt.Errorf("read stream heads: %w", err)
		}
		heads[name] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stream heads: %w", err)
	}
	return heads, nil
}

// LogHead returns the cursor of the newest event, or the zero cursor.
func (db *DB) LogHead(ctx context.Context) (domain.Cursor, error) {
	var c domain.Cursor
	var txID int64
	err := db.read.QueryRowContext(ctx, `SELECT transaction_id, position FROM events ORDER BY position DESC LIMIT 1`).
		Scan(&txID, &c.Position)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Cursor{}, nil
	}
	if err != nil {
		return c, fmt.Errorf("read log head: %w", err)
	}
	c.TxID = uint64(txID)
	return c, nil
}

// CursorAt returns the cursor of the event at position; ok is false when no
// event has it. Positions are in commit order here, so the cursor's
// transaction id only keeps the shape both stores share.
func (db *DB) CursorAt(ctx context.Context, position int64) (c domain.Cursor, ok bool, err error) {
	err = db.read.QueryRowContext(ctx, `SELECT transaction_id FROM events WHERE position = ?`, position).Scan(&c.TxID)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Cursor{}, false, nil
	}
	if err != nil {
		return domain.Cursor{}, false, fmt.Errorf("cursor at position %d: %w", position, err)
	}
	c.Position = position
	return c, true, nil
}
