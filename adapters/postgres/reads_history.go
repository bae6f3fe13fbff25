package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Page selects messages: the newest Limit when neither Before nor Forward
// is set; those with seq < Before; or, Forward, the first Limit with seq >
// After. Its fields match httpapi.Page.
type Page struct {
	Before  int64
	After   int64
	Forward bool
	Limit   int
}

const messageColumns = `h.id, h.room, h.seq, h.author_id, h.author_name, h.body, h.client_id, h.sent_at, h.edited_at, h.deleted`

func scanMessage(row pgx.CollectableRow) (projections.Message, error) {
	var m projections.Message
	var sent time.Time
	var edited *time.Time
	err := row.Scan(&m.ID, &m.Room, &m.Seq, &m.Author.ID, &m.Author.Username, &m.Body, &m.ClientID, &sent, &edited, &m.Deleted)
	m.SentAt = projections.Timestamp(sent.UTC())
	if edited != nil {
		ts := projections.Timestamp(edited.UTC())
		m.EditedAt = &ts
	}
	return m, err
}

// Messages returns one page of a room's messages (tombstones included),
// oldest first; more tells whether messages exist beyond the page in its
// direction.
func (db *DB) Messages(ctx context.Context, room uuid.UUID, page Page) ([]projections.Message, bool, error) {
	if page.Limit <= 0 {
		return nil, false, fmt.Errorf("messages of %s: limit %d must be positive", room, page.Limit)
	}
	query := `SELECT ` + messageColumns + ` FROM {history_messages} h WHERE h.room = $1 `
	args := []any{room, page.Limit + 1}
	switch {
	case page.Forward:
		query += `AND h.seq > $3 ORDER BY h.seq LIMIT $2`
		args = append(args, page.After)
	case page.Before > 0:
		query += `AND h.seq < $3 ORDER BY h.seq DESC LIMIT $2`
		args = append(args, page.Before)
	default:
		query += `ORDER BY h.seq DESC LIMIT $2`
	}
	var msgs []projections.Message
	err := db.readAcross(ctx, query, []string{"history"}, func(q string) error {
		rows, err := db.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		msgs, err = pgx.CollectRows(rows, scanMessage)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("messages of %s: %w", room, err)
	}
	more := len(msgs) > page.Limit
	if more {
		msgs = msgs[:page.Limit]
	}
	if !page.Forward {
		slices.Reverse(msgs)
	}
	return msgs, more, nil
}

// Search finds messages holding every word of q (search.go splits words)
// in rooms user is a member of (one room when room is not Nil), best match
// first. A q without words finds nothing.
func (db *DB) Search(ctx context.Context, user uuid.UUID, q string, room uuid.UUID, limit int) ([]projections.Message, error) {
	query, ok := searchQuery(q)
	if !ok {
		return []projections.Message{}, nil
	}
	var only *uuid.UUID
	if room != uuid.Nil {
		only = &room
	}
	var msgs []projections.Message
	err := db.readAcross(ctx, `SELECT `+messageColumns+`
		FROM {history_messages} h, CAST($2 AS tsquery) query
		WHERE h.search @@ query AND NOT h.deleted
		  AND ($3::uuid IS NULL OR h.room = $3)
		  AND EXISTS (SELECT 1 FROM {room_members} m WHERE m.room = h.room AND m.user_id = $1)
		ORDER BY ts_rank(h.search, query) DESC, h.sent_at DESC LIMIT $4`, []string{"history", "rooms"},
		func(sql string) error {
			rows, err := db.pool.Query(ctx, sql, user, query, only, limit)
			if err != nil {
				return err
			}
			msgs, err = pgx.CollectRows(rows, scanMessage)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("search %q for %s: %w", q, user, err)
	}
	return msgs, nil
}
