package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
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

func scanMessage(rows *sql.Rows) (projections.Message, error) {
	var m projections.Message
	var sent int64
	var edited sql.NullInt64
	err := rows.Scan(&m.ID, &m.Room, &m.Seq, &m.Author.ID, &m.Author.Username, &m.Body, &m.ClientID, &sent, &edited, &m.Deleted)
	m.SentAt = projections.Timestamp(time.UnixMilli(sent).UTC())
	if edited.Valid {
		ts := projections.Timestamp(time.UnixMilli(edited.Int64).UTC())
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
	query := `SELECT ` + messageColumns + ` FROM {history_messages} h WHERE h.room = ?1 `
	// One row past the page tells whether there is more.
	args := []any{room.String(), page.Limit + 1}
	switch {
	case page.Forward:
		query += `AND h.seq > ?3 ORDER BY h.seq LIMIT ?2`
		args = append(args, page.After)
	case page.Before > 0:
		query += `AND h.seq < ?3 ORDER BY h.seq DESC LIMIT ?2`
		args = append(args, page.Before)
	default:
		query += `ORDER BY h.seq DESC LIMIT ?2`
	}
	var msgs []projections.Message
	err := db.readAcross(ctx, query, []string{"history"}, func(tx *sql.Tx, q string) error {
		var err error
		msgs, err = collect(ctx, tx, q, args, scanMessage)
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

// Search finds messages matching every word of q in rooms user is a member
// of (one room when room is not Nil), best match first. A q without words
// finds nothing, as PostgreSQL's plainto_tsquery does.
func (db *DB) Search(ctx context.Context, user uuid.UUID, q string, room uuid.UUID, limit int) ([]projections.Message, error) {
	if limit < 0 {
		return nil, fmt.Errorf("search %q for %s: limit %d must not be negative", q, user, limit)
	}
	match := matchAll(q)
	if match == "" {
		return []projections.Message{}, nil
	}
	var only string // "" for every room
	if room != uuid.Nil {
		only = room.String()
	}
	var msgs []projections.Message
	err := db.readAcross(ctx, `SELECT `+messageColumns+`
		FROM {history_search} JOIN {history_messages} h ON h.rid = {history_search}.rowid
		WHERE {history_search} MATCH ?2 AND NOT h.deleted
		  AND (?3 = '' OR h.room = ?3)
		  AND EXISTS (SELECT 1 FROM {room_members} m WHERE m.room = h.room AND m.user_id = ?1)
		ORDER BY bm25({history_search}), h.sent_at DESC LIMIT ?4`, []string{"history", "rooms"},
		func(tx *sql.Tx, query string) error {
			var err error
			msgs, err = collect(ctx, tx, query, []any{user.String(), match, only, limit}, scanMessage)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("search %q for %s: %w", q, user, err)
	}
	return msgs, nil
}

// matchAll turns a user's text into an FTS5 query that needs every word.
// Each word becomes a quoted string (with its quotes doubled), so nothing
// the user types (", AND, NEAR, *, parentheses, column filters) is read as
// query syntax; FTS5 then tokenizes inside the quotes as it did the bodies.
func matchAll(q string) string {
	words := strings.Fields(q)
	for i, w := range words {
		words[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
	}
	return strings.Join(words, " ")
}

// EventsAfter returns up to limit stored frames of room with seq > after,
// oldest first: what a resuming socket missed.
func (db *DB) EventsAfter(ctx context.Context, room uuid.UUID, after int64, limit int) ([]projections.RoomFrame, error) {
	if limit < 0 {
		return nil, fmt.Errorf("events of %s after %d: limit %d must not be negative", room, after, limit)
	}
	var out []projections.RoomFrame
	err := db.readAcross(ctx, `SELECT seq, frame FROM {history_events}
		WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?`, []string{"history"},
		func(tx *sql.Tx, q string) error {
			var err error
			out, err = collect(ctx, tx, q, []any{room.String(), after, limit}, func(rows *sql.Rows) (projections.RoomFrame, error) {
				var f projections.RoomFrame
				return f, rows.Scan(&f.Seq, &f.Frame)
			})
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("events of %s after %d: %w", room, after, err)
	}
	return out, nil
}

// OnlineNodes lists the nodes the presence read model has users on; the
// lease reaper checks each one still holds its lease.
func (db *DB) OnlineNodes(ctx context.Context) ([]string, error) {
	var out []string
	err := db.readAcross(ctx, `SELECT DISTINCT node FROM {presence_nodes} ORDER BY node`, []string{"presence"},
		func(tx *sql.Tx, q string) error {
			var err error
			out, err = collect(ctx, tx, q, nil, func(rows *sql.Rows) (string, error) {
				var n string
				return n, rows.Scan(&n)
			})
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("online nodes: %w", err)
	}
	return out, nil
}
