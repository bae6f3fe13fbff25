package projections

import (
	"context"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// RoomsWriter is the rooms read model's write port.
type RoomsWriter interface {
	// InsertRoom adds a room; direct holds the two users of a direct room.
	InsertRoom(ctx context.Context, id uuid.UUID, name string, kind domain.RoomKind, direct []uuid.UUID, createdAt time.Time) error
	AddMember(ctx context.Context, room uuid.UUID, user domain.UserRef, at time.Time) error
	RemoveMember(ctx context.Context, room, user uuid.UUID) error
	// SetRoomHead records the room's latest seq; a lower seq changes nothing.
	SetRoomHead(ctx context.Context, room uuid.UUID, seq int64) error
}

// Rooms is the rooms read model: rooms, members, heads and the direct-room
// lookup.
type Rooms struct{}

func (Rooms) Name() string { return "rooms" }
func (Rooms) Version() int { return 1 }

// Reads lists the payloads Apply looks at (Selective).
func (Rooms) Reads(eventType string) bool {
	switch eventType {
	case "RoomCreated", "MemberJoined", "MemberLeft":
		return true
	}
	return false
}

func (Rooms) Apply(ctx context.Context, tx Tx, e *domain.Event, p domain.Payload) ([]Update, error) {
	room, ok := domain.RoomIDFromStream(e.Stream)
	if !ok {
		return nil, nil
	}
	var err error
	var updates []Update
	switch ev := p.(type) {
	case *domain.RoomCreated:
		err = tx.InsertRoom(ctx, ev.RoomID, ev.Name, ev.Kind, ev.Direct, e.RecordedAt)
	case *domain.MemberJoined:
		err = tx.AddMember(ctx, ev.RoomID, ev.User, e.RecordedAt)
		updates = []Update{{Kind: UpdateMembership, Room: ev.RoomID, User: ev.User.ID, Seq: e.Version}}
	case *domain.MemberLeft:
		err = tx.RemoveMember(ctx, ev.RoomID, ev.User.ID)
		updates = []Update{{Kind: UpdateMembership, Room: ev.RoomID, User: ev.User.ID, Seq: e.Version}}
	}
	if err != nil {
		return nil, err
	}
	return updates, tx.SetRoomHead(ctx, room, e.Version)
}
