package postgres

import (
	"context"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

var (
	usersTable   = []string{"approval_users"}
	rolesTable   = []string{"approval_roles"}
	roomsTable   = []string{"rooms"}
	membersTable = []string{"room_members"}
)

// InsertUser adds a pending user; a known id changes nothing.
func (t *projTx) InsertUser(_ context.Context, id uuid.UUID, username string, createdAt time.Time) error {
	return t.queue(`INSERT INTO {} (id, username, status, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, usersTable, id, username, string(domain.StatusPending), createdAt)
}

func (t *projTx) SetUserStatus(_ context.Context, id uuid.UUID, status domain.UserStatus) error {
	return t.queue(`UPDATE {} SET status = $1 WHERE id = $2`, usersTable, string(status), id)
}

func (t *projTx) AddUserRole(_ context.Context, id uuid.UUID, role string) error {
	return t.queue(`INSERT INTO {} (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING`, rolesTable, id, role)
}

// InsertRoom adds a room; a known id changes nothing. A direct room's users
// are stored in id order, so the lookup need not try both orders.
func (t *projTx) InsertRoom(_ context.Context, id uuid.UUID, name string, kind domain.RoomKind, direct []uuid.UUID, createdAt time.Time) error {
	var a, b *uuid.UUID
	if len(direct) == 2 {
		x, y := direct[0], direct[1]
		if y.String() < x.String() {
			x, y = y, x
		}
		a, b = &x, &y
	}
	return t.queue(`INSERT INTO {} (id, name, kind, created_at, direct_a, direct_b) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO NOTHING`, roomsTable, id, name, string(kind), createdAt, a, b)
}

func (t *projTx) AddMember(_ context.Context, room uuid.UUID, user domain.UserRef, at time.Time) error {
	return t.queue(`INSERT INTO {} (room, user_id, username, joined_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (room, user_id) DO NOTHING`, membersTable, room, user.ID, user.Username, at)
}

func (t *projTx) RemoveMember(_ context.Context, room, user uuid.UUID) error {
	return t.queue(`DELETE FROM {} WHERE room = $1 AND user_id = $2`, membersTable, room, user)
}

// SetRoomHead moves the room's head forward; a lower seq changes nothing.
// Every event of a room moves its head, so heads are held and only each
// room's highest is written, in one statement (see heldRows): the updates
// are all "raise to at least", which commute.
func (t *projTx) SetRoomHead(_ context.Context, room uuid.UUID, seq int64) error {
	heads, err := hold(t, roomsTable[0], func() *headRows { return &headRows{at: map[uuid.UUID]int{}} })
	if err != nil {
		return err
	}
	if i, ok := heads.at[room]; ok {
		heads.seq[i] = max(heads.seq[i], int8Elem(seq))
		return nil
	}
	heads.at[room] = len(heads.room)
	heads.room = append(heads.room, uuidElem(room))
	heads.seq = append(heads.seq, int8Elem(seq))
	return nil
}

// headRows are held room heads, one per room in first-seen order.
type headRows struct {
	at   map[uuid.UUID]int // index in room and seq
	room column[uuidElem]
	seq  column[int8Elem]
}

func (h *headRows) table() string { return roomsTable[0] }
func (h *headRows) len() int      { return len(h.room) }

func (h *headRows) statement(table string) (string, []any) {
	sql := `UPDATE ` + table + ` r SET head = h.seq FROM unnest($1::uuid[], $2::int8[]) AS h(id, seq)
		WHERE r.id = h.id AND r.head < h.seq`
	args := []any{h.room, h.seq}
	*h = headRows{at: map[uuid.UUID]int{}}
	return sql, args
}
