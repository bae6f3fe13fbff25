package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

var (
	_ projections.HistoryWriter     = (*projTx)(nil)
	_ projections.PresenceWriter    = (*projTx)(nil)
	_ projections.ReadMarkersWriter = (*projTx)(nil)
)

var (
	historyEventsTable   = []string{"history_events"}
	historyMessagesTable = []string{"history_messages"}
	presenceNodesTable   = []string{"presence_nodes"}
	presenceUsersTable   = []string{"presence_users"}
	readMarkersTable     = []string{"read_markers"}
)

// InsertRoomEvent stores a room event's frame; a known (room, seq) changes
// nothing.
func (t *projTx) InsertRoomEvent(ctx context.Context, room uuid.UUID, seq int64, frame []byte) error {
	err := t.execOn(ctx, `INSERT INTO {} (room, seq, frame) VALUES (?, ?, ?) ON CONFLICT (room, seq) DO NOTHING`,
		historyEventsTable, room.String(), seq, frame)
	if err != nil {
		return fmt.Errorf("insert event %d of room %s: %w", seq, room, err)
	}
	return nil
}

// InsertMessage adds a message; a known id changes nothing. The search
// index follows by trigger.
func (t *projTx) InsertMessage(ctx context.Context, m projections.Message) error {
	err := t.execOn(ctx, `INSERT INTO {} (id, room, seq, author_id, author_name, body, client_id, sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, historyMessagesTable,
		m.ID.String(), m.Room.String(), m.Seq, m.Author.ID.String(), m.Author.Username, m.Body,
		m.ClientID.String(), time.Time(m.SentAt).UnixMilli())
	if err != nil {
		return fmt.Errorf("insert message %s of room %s: %w", m.ID, m.Room, err)
	}
	return nil
}

// EditMessage replaces a message's body; a tombstone stays empty.
func (t *projTx) EditMessage(ctx context.Context, room, id uuid.UUID, body string, at time.Time) error {
	err := t.execOn(ctx, `UPDATE {} SET body = ?, edited_at = ? WHERE room = ? AND id = ? AND NOT deleted`,
		historyMessagesTable, body, at.UnixMilli(), room.String(), id.String())
	if err != nil {
		return fmt.Errorf("edit message %s of room %s: %w", id, room, err)
	}
	return nil
}

// DeleteMessage tombstones a message: it keeps its seq, its body (and so,
// by trigger, its search entry) goes.
func (t *projTx) DeleteMessage(ctx context.Context, room, id uuid.UUID) error {
	err := t.execOn(ctx, `UPDATE {} SET body = '', deleted = 1 WHERE room = ? AND id = ?`,
		historyMessagesTable, room.String(), id.String())
	if err != nil {
		return fmt.Errorf("delete message %s of room %s: %w", id, room, err)
	}
	return nil
}

// SetReadMarker moves the marker forward; a lower seq changes nothing.
func (t *projTx) SetReadMarker(ctx context.Context, user, room uuid.UUID, seq int64) error {
	err := t.execOn(ctx, `INSERT INTO {} (user_id, room, seq) VALUES (?, ?, ?)
		ON CONFLICT (user_id, room) DO UPDATE SET seq = max(seq, excluded.seq)`,
		readMarkersTable, user.String(), room.String(), seq)
	if err != nil {
		return fmt.Errorf("set read marker of %s in room %s to %d: %w", user, room, seq, err)
	}
	return nil
}

// SetOnline records user on node and reports whether they were offline
// everywhere before. The transaction holds the only writer, so nothing
// changes between the count and the insert.
func (t *projTx) SetOnline(ctx context.Context, user domain.UserRef, node string, at time.Time) (bool, error) {
	before, err := t.countOn(ctx, `SELECT count(*) FROM {} WHERE user_id = ?`, presenceNodesTable, user.ID.String())
	if err != nil {
		return false, fmt.Errorf("set %s online on %s: %w", user.ID, node, err)
	}
	err = t.execOn(ctx, `INSERT INTO {} (user_id, node, username, since) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, node) DO NOTHING`, presenceNodesTable, user.ID.String(), node, user.Username, at.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("set %s online on %s: %w", user.ID, node, err)
	}
	return before == 0, t.seen(ctx, user.ID, at)
}

// SetOffline removes user from node and reports whether that took them
// offline everywhere (a repeated disconnect reports false).
func (t *projTx) SetOffline(ctx context.Context, user uuid.UUID, node string, at time.Time) (bool, error) {
	q, err := t.sqlFor(`DELETE FROM {} WHERE user_id = ? AND node = ?`, presenceNodesTable...)
	if err != nil {
		return false, err
	}
	res, err := t.exec(ctx, q, user.String(), node)
	if err != nil {
		return false, fmt.Errorf("set %s offline on %s: %w", user, node, err)
	}
	deleted, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("set %s offline on %s: %w", user, node, err)
	}
	left, err := t.countOn(ctx, `SELECT count(*) FROM {} WHERE user_id = ?`, presenceNodesTable, user.String())
	if err != nil {
		return false, fmt.Errorf("set %s offline on %s: %w", user, node, err)
	}
	return deleted > 0 && left == 0, t.seen(ctx, user, at)
}

// DropNode removes every user of node and returns those now offline
// everywhere, by username.
func (t *projTx) DropNode(ctx context.Context, node string, at time.Time) ([]domain.UserRef, error) {
	gone, err := t.usersOnlyOn(ctx, node)
	if err != nil {
		return nil, fmt.Errorf("drop node %s: %w", node, err)
	}
	if err := t.execOn(ctx, `DELETE FROM {} WHERE node = ?`, presenceNodesTable, node); err != nil {
		return nil, fmt.Errorf("drop node %s: %w", node, err)
	}
	for _, u := range gone {
		if err := t.seen(ctx, u.ID, at); err != nil {
			return nil, err
		}
	}
	return gone, nil
}

// usersOnlyOn lists the users connected on node and on no other node.
func (t *projTx) usersOnlyOn(ctx context.Context, node string) ([]domain.UserRef, error) {
	q, err := t.sqlFor(`SELECT DISTINCT d.user_id, d.username FROM {} d
		WHERE d.node = ?1 AND NOT EXISTS (SELECT 1 FROM {} p WHERE p.user_id = d.user_id AND p.node <> ?1)
		ORDER BY d.username`, "presence_nodes", "presence_nodes")
	if err != nil {
		return nil, err
	}
	s, err := t.get(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.QueryContext(ctx, node)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []domain.UserRef
	for rows.Next() {
		var u domain.UserRef
		if err := rows.Scan(&u.ID, &u.Username); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// seen moves the user's last-seen time forward.
func (t *projTx) seen(ctx context.Context, user uuid.UUID, at time.Time) error {
	err := t.execOn(ctx, `INSERT INTO {} (user_id, last_seen) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
		presenceUsersTable, user.String(), at.UnixMilli())
	if err != nil {
		return fmt.Errorf("set last seen of %s: %w", user, err)
	}
	return nil
}

// countOn runs a count(*) query on this version's tables.
func (t *projTx) countOn(ctx context.Context, query string, tables []string, args ...any) (int64, error) {
	q, err := t.sqlFor(query, tables...)
	if err != nil {
		return 0, err
	}
	row, err := t.queryRow(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	var n int64
	return n, row.Scan(&n)
}
