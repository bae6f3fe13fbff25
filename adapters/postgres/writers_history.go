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

// InsertMessage adds a message; a known id changes nothing. Messages are
// held and inserted together (see heldRows).
func (t *projTx) InsertMessage(ctx context.Context, m projections.Message) error {
	rows, err := hold(t, historyMessagesTable[0], func() *messageRows { return &messageRows{} })
	if err != nil {
		return err
	}
	rows.add(m, t.building)
	return t.heldRow(ctx, rows.len())
}

// EditMessage replaces a message's body; a tombstone stays empty.
func (t *projTx) EditMessage(_ context.Context, room, id uuid.UUID, body string, at time.Time) error {
	const edit = `UPDATE {} SET body = $1, search = $5, edited_at = $2 WHERE room = $3 AND id = $4 AND NOT deleted`
	if t.building {
		return t.changeMessage(room, id, func(r *messageRows, i int) {
			if !r.deleted[i] {
				r.body[i], r.editedAt[i] = textElem(body), nullTimeElem{t: at, ok: true}
			}
		}, edit, body, at, room, id, searchVector(body))
	}
	return t.queue(edit, historyMessagesTable, body, at, room, id, searchVector(body))
}

// DeleteMessage tombstones a message: it keeps its seq, its body (and so
// its search entry) goes.
func (t *projTx) DeleteMessage(_ context.Context, room, id uuid.UUID) error {
	const del = `UPDATE {} SET body = '', search = '', deleted = true WHERE room = $1 AND id = $2`
	if t.building {
		return t.changeMessage(room, id, func(r *messageRows, i int) {
			r.body[i], r.deleted[i] = "", true
		}, del, room, id)
	}
	return t.queue(del, historyMessagesTable, room, id)
}

// changeMessage applies an edit or delete in a version being built without
// sending the held messages first, which would cut their COPY short at
// every edit. The update is queued to run before the held rows are
// inserted, and change is applied to the held row of the same id, if that
// row is in room. The outcome is the one of inserting first, then
// updating: the table holds at most one row per id; if it has one, the
// held rows of that id are dropped (ON CONFLICT, or the COPY's fallback)
// and the update changed it; if not, the first held row of that id is the
// one inserted, changed here if it is in room, as the update would have.
func (t *projTx) changeMessage(room, id uuid.UUID, change func(*messageRows, int), query string, args ...any) error {
	for _, h := range t.held {
		if r, ok := h.(*messageRows); ok {
			if i, ok := r.first[id]; ok && r.room[i] == uuidElem(room) {
				change(r, i)
				r.changed = true
			}
		}
	}
	q, err := t.sqlFor(query, historyMessagesTable...)
	if err != nil {
		return err
	}
	t.pending.Queue(q, args...)
	return nil
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
	rows, err := t.conn.Query(ctx, q, node)
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
	return t.conn.QueryRow(ctx, q, args...).Scan(dest...)
}
