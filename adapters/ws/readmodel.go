package ws

import (
	"context"
	"fmt"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// RoomReader is the rooms read model as the HTTP API reads it (the
// sqlite and postgres adapters implement it).
type RoomReader interface {
	// Room returns a room as user sees it, or CodeNotFound.
	Room(ctx context.Context, id, user uuid.UUID) (projections.Room, error)
	// RoomsFor lists the public rooms and every room user is a member of.
	RoomsFor(ctx context.Context, user uuid.UUID) ([]projections.Room, error)
}

// RoomsFromReadModel answers the gateway's membership questions from the
// rooms read model, with PROTOCOL.md's rules: unknown → not_found, not a
// member (public rooms too) → forbidden.
func RoomsFromReadModel(r RoomReader) Rooms { return readModelRooms{r} }

type readModelRooms struct{ r RoomReader }

// MembershipReader is the cheaper question a reader may answer instead of
// Room: a reconnect storm asks it once per socket and room.
type MembershipReader interface {
	// Membership returns the room's head seq and whether user is a member;
	// an unknown room is CodeNotFound.
	Membership(ctx context.Context, room, user uuid.UUID) (head int64, member bool, err error)
}

func (m readModelRooms) Access(ctx context.Context, room, user uuid.UUID) (int64, error) {
	if mr, ok := m.r.(MembershipReader); ok {
		head, member, err := mr.Membership(ctx, room, user)
		return accessOf(room, head, member, err)
	}
	rm, err := m.r.Room(ctx, room, user)
	return accessOf(room, rm.Head, rm.Member, err)
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

// MemberRoomsReader is the cheaper question a reader may answer instead of
// RoomsFor: presence routing asks it for every user who connects anywhere.
type MemberRoomsReader interface {
	// MemberRooms lists the ids of the rooms user is a member of.
	MemberRooms(ctx context.Context, user uuid.UUID) ([]uuid.UUID, error)
}

func (m readModelRooms) RoomsOf(ctx context.Context, user uuid.UUID) ([]uuid.UUID, error) {
	if mr, ok := m.r.(MemberRoomsReader); ok {
		return mr.MemberRooms(ctx, user)
	}
	rooms, err := m.r.RoomsFor(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("rooms of %s: %w", user, err)
	}
	ids := make([]uuid.UUID, 0, len(rooms))
	for _, rm := range rooms {
		if rm.Member {
			ids = append(ids, rm.ID)
		}
	}
	return ids, nil
}
