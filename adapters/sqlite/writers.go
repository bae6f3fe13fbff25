package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// execOn runs query with its "{}" replaced by the versioned tables.
func (t *projTx) execOn(ctx context.Context, query string, tables []string, args ...any) error {
	q, err := t.sqlFor(query, tables...)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, q, args...)
	return err
}

var (
	usersTable   = []string{"approval_users"}
	rolesTable   = []string{"approval_roles"}
	roomsTable   = []string{"rooms"}
	membersTable = []string{"room_members"}
)

// InsertUser adds a pending user; a known id changes nothing.
func (t *projTx) InsertUser(ctx context.Context, id uuid.UUID, username string, createdAt time.Time) error {
	err := t.execOn(ctx, `INSERT INTO {} (id, username, status, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, usersTable, id.String(), username, string(domain.StatusPending), createdAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("insert user %s: %w", id, err)
	}
	return nil
}

func (t *projTx) SetUserStatus(ctx context.Context, id uuid.UUID, status domain.UserStatus) error {
	err := t.execOn(ctx, `UPDATE {} SET status = ? WHERE id = ?`, usersTable, string(status), id.String())
	if err != nil {
		return fmt.Errorf("set status of user %s to %s: %w", id, status, err)
	}
	return nil
}

func (t *projTx) AddUserRole(ctx context.Context, id uuid.UUID, role string) error {
	err := t.execOn(ctx, `INSERT INTO {} (user_id, role) VALUES (?, ?) ON CONFLICT DO NOTHING`,
		rolesTable, id.String(), role)
	if err != nil {
		return fmt.Errorf("grant %s to user %s: %w", role, id, err)
	}
	return nil
}

// InsertRoom adds a room; a known id changes nothing. A direct room's users
// are stored in id order, so the lookup need not try both orders.
func (t *projTx) InsertRoom(ctx context.Context, id uuid.UUID, name string, kind domain.RoomKind, direct []uuid.UUID, createdAt time.Time) error {
	var a, b any
	if len(direct) == 2 {
		x, y := direct[0].String(), direct[1].String()
		if y < x {
			x, y = y, x
		}
		a, b = x, y
	}
	err := t.execOn(ctx, `INSERT INTO {} (id, name, kind, created_at, direct_a, direct_b) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, roomsTable, id.String(), name, string(kind), createdAt.UnixMilli(), a, b)
	if err != nil {
		return fmt.Errorf("insert room %s: %w", id, err)
	}
	return nil
}

func (t *projTx) AddMember(ctx context.Context, room uuid.UUID, user domain.UserRef, at time.Time) error {
	err := t.execOn(ctx, `INSERT INTO {} (room, user_id, username, joined_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (room, user_id) DO NOTHING`, membersTable, room.String(), user.ID.String(), user.Username, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("add %s to room %s: %w", user.ID, room, err)
	}
	return nil
}

func (t *projTx) RemoveMember(ctx context.Context, room, user uuid.UUID) error {
	err := t.execOn(ctx, `DELETE FROM {} WHERE room = ? AND user_id = ?`, membersTable, room.String(), user.String())
	if err != nil {
		return fmt.Errorf("remove %s from room %s: %w", user, room, err)
	}
	return nil
}

// SetRoomHead moves the room's head forward; a lower seq changes nothing.
func (t *projTx) SetRoomHead(ctx context.Context, room uuid.UUID, seq int64) error {
	err := t.execOn(ctx, `UPDATE {} SET head = ? WHERE id = ? AND head < ?`, roomsTable, seq, room.String(), seq)
	if err != nil {
		return fmt.Errorf("set head of room %s to %d: %w", room, seq, err)
	}
	return nil
}
