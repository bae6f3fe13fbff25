package ws

import (
	"context"
	"fmt"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// RoomReader is what the gateway asks the rooms read model (the sqlite and
// postgres adapters implement it): narrow questions, because a reconnect
// storm asks them once per socket and room, and presence routing for every
// user who connects anywhere.
type RoomReader interface {
	// Membership returns the room's head seq and whether user is a member;
	// an unknown room is CodeNotFound.
	Membership(ctx context.Context, room, user uuid.UUID) (head int64, member bool, err error)
	// MemberRooms lists the ids of the rooms user is a member of.
	MemberRooms(ctx context.Context, user uuid.UUID) ([]uuid.UUID, error)
}

// RoomsFromReadModel answers the gateway's membership questions from the
// rooms read model, with PROTOCOL.md's rules: unknown → not_found, not a
// member (public rooms too) → forbidden.
func RoomsFromReadModel(r RoomReader) Rooms { return readModelRooms{r} }

type readModelRooms struct{ r RoomReader }

func (m readModelRooms) Access(ctx context.Context, room, user uuid.UUID) (int64, error) {
	head, member, err := m.r.Membership(ctx, room, user)
	return accessOf(room, head, member, err)
}

// accessOf applies PROTOCOL.md's rules: unknown → not_found, not a member
// (public rooms too) → forbidden.
func accessOf(room uuid.UUID, head int64, member bool, err error) (int64, error) {
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeNotFound {
			return 0, domain.Errorf(domain.CodeNotFound, "room not found")
		}
		return 0, fmt.Errorf("room %s: %w", room, err)
	}
	if !member {
		return 0, domain.Errorf(domain.CodeForbidden, "not a member of this room")
	}
	return head, nil
}

func (m readModelRooms) RoomsOf(ctx context.Context, user uuid.UUID) ([]uuid.UUID, error) {
	rooms, err := m.r.MemberRooms(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("rooms of %s: %w", user, err)
	}
	return rooms, nil
}
