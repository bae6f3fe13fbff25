package projections

import (
	"fmt"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
	segjson "github.com/segmentio/encoding/json"
)

// EventFrame is PROTOCOL.md's room `event` frame.
type EventFrame struct {
	Type  string          `json:"type"`
	Room  uuid.UUID       `json:"room"`
	Seq   int64           `json:"seq"`
	Kind  string          `json:"kind"`
	At    Timestamp       `json:"at"`
	Actor *domain.UserRef `json:"actor"`
	Data  any             `json:"data"`
}

type roomCreatedData struct {
	Name string          `json:"name"`
	Kind domain.RoomKind `json:"kind"`
}

type memberData struct {
	User domain.UserRef `json:"user"`
}

type postedData struct {
	ID       uuid.UUID `json:"id"`
	Body     string    `json:"body"`
	ClientID uuid.UUID `json:"client_id"`
}

type editedData struct {
	ID   uuid.UUID `json:"id"`
	Body string    `json:"body"`
}

type deletedData struct {
	ID uuid.UUID `json:"id"`
}

// EncodeEventFrame renders a room event as the frame every subscriber gets.
// It is called once per event; gateways write the bytes as they are.
func EncodeEventFrame(e *domain.Event, p domain.Payload) ([]byte, error) {
	room, ok := domain.RoomIDFromStream(e.Stream)
	if !ok {
		return nil, fmt.Errorf("event at position %d: %s is not a room stream", e.Position, e.Stream)
	}
	actor, err := actorOf(e.Metadata)
	if err != nil {
		return nil, fmt.Errorf("event at position %d: %w", e.Position, err)
	}
	b, err := appendEventFrame(make([]byte, 0, 256+len(e.Data)), room, e.Version, domain.ProtocolKind(e.Type), e.RecordedAt, actor, p)
	if err != nil {
		return nil, fmt.Errorf("encode event frame at position %d: %w", e.Position, err)
	}
	return b, nil
}

// actorOf reads the actor of an event's metadata: the two fields the frame
// needs, not the whole Metadata.
func actorOf(raw []byte) (*domain.UserRef, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var m struct {
		ActorID   string `json:"actor_id"`
		ActorName string `json:"actor_name"`
	}
	if err := segjson.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	return domain.Metadata{ActorID: m.ActorID, ActorName: m.ActorName}.Actor(), nil
}

// ReadFrame is PROTOCOL.md's `read` frame.
type ReadFrame struct {
	Type string         `json:"type"`
	Room uuid.UUID      `json:"room"`
	User domain.UserRef `json:"user"`
	Seq  int64          `json:"seq"`
}

// PresenceFrame is PROTOCOL.md's `presence` frame.
type PresenceFrame struct {
	Type   string         `json:"type"`
	User   domain.UserRef `json:"user"`
	Online bool           `json:"online"`
	At     Timestamp      `json:"at"`
}
