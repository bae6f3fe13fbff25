package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

var (
	_ projections.HistoryWriter     = (*projTx)(nil)
	_ projections.PresenceWriter    = (*projTx)(nil)
	_ projections.ReadMarkersWriter = (*projTx)(nil)
)

var (
	historyEventsTable   = []string{"history_events"}
	historyMessagesTable = []string{"history_messages"}
	presenceUsersTable   = []string{"presence_users"}
	readMarkersTable     = []string{"read_markers"}
)

// InsertRoomEvent stores a room event's frame; a known (room, seq) changes
// nothing. Frames are held and inserted together (see heldRows).
func (t *projTx) InsertRoomEvent(ctx context.Context, room uuid.UUID, seq int64, frame []byte) error {
	rows, err := hold(t, historyEventsTable[0], func() *roomEventRows { return &roomEventRows{} })
	if err != nil {
		return err
	}
	rows.room = append(rows.room, uuidElem(room))
	rows.seq = append(rows.seq, int8Elem(seq))
	rows.frame = append(rows.frame, frame)
	return t.heldRow(ctx, rows.len())
}

// roomEventRows are held history_events rows.
type roomEventRows struct {
	room  column[uuidElem]
	seq   column[int8Elem]
	frame column[byteaElem]
}

func (r *roomEventRows) table() string { return historyEventsTable[0] }
func (r *roomEventRows) len() int      { return len(r.room) }

func (r *roomEventRows) statement(table string) (string, []any) {
	sql := unnestInsert(table, "room, seq, frame", []string{"uuid", "int8", "bytea"},
		"ON CONFLICT (room, seq) DO NOTHING")
	args := []any{r.room, r.seq, r.frame}
	*r = roomEventRows{}
	return sql, args
}

// InsertMessage adds a message; a known id changes nothing. Messages are
// held and inserted together (see heldRows).
func (t *projTx) InsertMessage(ctx context.Context, m projections.Message) error {
	rows, err := hold(t, historyMessagesTable[0], func() *messageRows { return &messageRows{} })
	if err != nil {
		return err
	}
	rows.id = append(rows.id, uuidElem(m.ID))
	rows.room = append(rows.room, uuidElem(m.Room))
	rows.seq = append(rows.seq, int8Elem(m.Seq))
	rows.authorID = append(rows.authorID, uuidElem(m.Author.ID))
	rows.authorName = append(rows.authorName, textElem(m.Author.Username))
	rows.body = append(rows.body, textElem(m.Body))
	rows.clientID = append(rows.clientID, uuidElem(m.ClientID))
	rows.sentAt = append(rows.sentAt, timeElem(m.SentAt))
	return t.heldRow(ctx, rows.len())
}

// messageRows are held history_messages rows.
type messageRows struct {
	id, room, authorID, clientID column[uuidElem]
	seq                          column[int8Elem]
	authorName, body             column[textElem]
	sentAt                       column[timeElem]
}

func (r *messageRows) table() string { return historyMessagesTable[0] }
func (r *messageRows) len() int      { return len(r.id) }

func (r *messageRows) statement(table string) (string, []any) {
	sql := unnestInsert(table, "id, room, seq, author_id, author_name, body, client_id, sent_at",
		[]string{"uuid", "uuid", "int8", "uuid", "text", "text", "uuid", "timestamptz"},
		"ON CONFLICT (id) DO NOTHING")
	args := []any{r.id, r.room, r.seq, r.authorID, r.authorName, r.body, r.clientID, r.sentAt}
	*r = messageRows{}
	return sql, args
}

// EditMessage replaces a message's body; a tombstone stays empty.
func (t *projTx) EditMessage(_ context.Context, room, id uuid.UUID, body string, at time.Time) error {
	return t.queue(`UPDATE {} SET body = $1, edited_at = $2 WHERE room = $3 AND id = $4 AND NOT deleted`,
		historyMessagesTable, body, at, room, id)
}

// DeleteMessage tombstones a message: it keeps its seq, its body (and so
// its search entry) goes.
func (t *projTx) DeleteMessage(_ context.Context, room, id uuid.UUID) error {
	return t.queue(`UPDATE {} SET body = '', deleted = true WHERE room = $1 AND id = $2`,
		historyMessagesTable, room, id)
}

// SetReadMarker moves the marker forward; a lower seq changes nothing.
func (t *projTx) SetReadMarker(_ context.Context, user, room uuid.UUID, seq int64) error {
	return t.queue(`INSERT INTO {} AS m (user_id, room, seq) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, room) DO UPDATE SET seq = greatest(m.seq, excluded.seq)`,
		readMarkersTable, user, room, seq)
}

// SetOnline records user on node and reports whether they were offline
// everywhere before. The CTE's snapshot is taken before its insert, so the
// count is of the rows before it.
func (t *projTx) SetOnline(ctx context.Context, user domain.UserRef, node string, at time.Time) (bool, error) {
	var before int
	err := t.queryRow(ctx, `WITH ins AS (
			INSERT INTO {} (user_id, node, username, since) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, node) DO NOTHING)
		SELECT count(*) FROM {} WHERE user_id = $1`, []string{"presence_nodes", "presence_nodes"},
		[]any{user.ID, node, user.Username, at}, &before)
	if err != nil {
		return false, fmt.Errorf("set %s online on %s: %w", user.ID, node, err)
	}
	return before == 0, t.seen(user.ID, at)
}

// SetOffline removes user from node and reports whether that took them
// offline everywhere (a repeated disconnect reports false).
func (t *projTx) SetOffline(ctx context.Context, user uuid.UUID, node string, at time.Time) (bool, error) {
	var gone bool
	err := t.queryRow(ctx, `WITH del AS (DELETE FROM {} WHERE user_id = $1 AND node = $2 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM del) AND NOT EXISTS (SELECT 1 FROM {} WHERE user_id = $1 AND node <> $2)`,
		[]string{"presence_nodes", "presence_nodes"}, []any{user, node}, &gone)
	if err != nil {
		return false, fmt.Errorf("set %s offline on %s: %w", user, node, err)
	}
	return gone, t.seen(user, at)
}

// DropNode removes every user of node and returns those now offline
// everywhere.
func (t *projTx) DropNode(ctx context.Context, node string, at time.Time) ([]domain.UserRef, error) {
	q, err := t.sqlFor(`WITH del AS (DELETE FROM {} WHERE node = $1 RETURNING user_id, username)
		SELECT DISTINCT d.user_id, d.username FROM del d
		WHERE NOT EXISTS (SELECT 1 FROM {} p WHERE p.user_id = d.user_id AND p.node <> $1)
		ORDER BY d.username`, "presence_nodes", "presence_nodes")
	if err != nil {
		return nil, err
	}
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, q, node)
	if err != nil {
		return nil, fmt.Errorf("drop node %s: %w", node, err)
	}
	gone, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.UserRef, error) {
		var u domain.UserRef
		return u, row.Scan(&u.ID, &u.Username)
	})
	if err != nil {
		return nil, fmt.Errorf("drop node %s: %w", node, err)
	}
	for _, u := range gone {
		if err := t.seen(u.ID, at); err != nil {
			return nil, err
		}
	}
	return gone, nil
}

// seen queues a last-seen update.
func (t *projTx) seen(user uuid.UUID, at time.Time) error {
	return t.queue(`INSERT INTO {} AS u (user_id, last_seen) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET last_seen = greatest(u.last_seen, excluded.last_seen)`,
		presenceUsersTable, user, at)
}

// queryRow runs a one-row read on this version's tables after the queued
// writes, scanning into dest.
func (t *projTx) queryRow(ctx context.Context, query string, tables []string, args []any, dest ...any) error {
	q, err := t.sqlFor(query, tables...)
	if err != nil {
		return err
	}
	if err := t.flush(ctx); err != nil {
		return err
	}
	return t.tx.QueryRow(ctx, q, args...).Scan(dest...)
}
