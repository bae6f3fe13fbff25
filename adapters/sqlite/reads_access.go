package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// Membership answers a socket's subscribe: the room's head seq and whether
// user is a member, without Room's counts. An unknown room is CodeNotFound.
func (db *DB) Membership(ctx context.Context, room, user uuid.UUID) (head int64, member bool, err error) {
	err = db.readAcross(ctx, `SELECT r.head,
			EXISTS (SELECT 1 FROM {room_members} m WHERE m.room = r.id AND m.user_id = ?2)
		FROM {rooms} r WHERE r.id = ?1`, []string{"rooms"},
		func(tx *sql.Tx, q string) error {
			return tx.QueryRowContext(ctx, q, room.String(), user.String()).Scan(&head, &member)
		})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, domain.Errorf(domain.CodeNotFound, "no such room")
	}
	if err != nil {
		return 0, false, fmt.Errorf("membership of %s in %s: %w", user, room, err)
	}
	return head, member, nil
}

// MemberRooms lists the rooms user is a member of, by id: what the gateway
// needs to route presence, without Room's per-room counts (which grow with
// history and made presence updates the costliest query under load).
func (db *DB) MemberRooms(ctx context.Context, user uuid.UUID) ([]uuid.UUID, error) {
	var rooms []uuid.UUID
	err := db.readAcross(ctx, `SELECT room FROM {room_members} WHERE user_id = ?1 ORDER BY room`, []string{"rooms"},
		func(tx *sql.Tx, q string) error {
			rows, err := tx.QueryContext(ctx, q, user.String())
			if err != nil {
				return err
			}
			defer rows.Close()
			rooms = rooms[:0]
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					return err
				}
				id, err := uuid.Parse(s)
				if err != nil {
					return fmt.Errorf("room id %q: %w", s, err)
				}
				rooms = append(rooms, id)
			}
			return rows.Err()
		})
	if err != nil {
		return nil, fmt.Errorf("rooms of member %s: %w", user, err)
	}
	return rooms, nil
}
