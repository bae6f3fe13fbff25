package projections

import (
	"encoding/json"
	"fmt"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
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
	meta, err := domain.DecodeMetadata(e.Metadata)
	if err != nil {
		return nil, fmt.Errorf("event at position %d: %w", e.Position, err)
	}
	f := EventFrame{Type: "event", Room: room, Seq: e.Version, Kind: domain.ProtocolKind(e.Type),
		At: Timestamp(e.RecordedAt), Actor: meta.Actor()}
	switch ev := p.(type) {
	case *domain.RoomCreated:
		f.Data = roomCreatedData{Name: ev.Name, Kind: ev.Kind}
	case *domain.MemberJoined:
		f.Data = memberData{User: ev.User}
	case *domain.MemberLeft:
		f.Data = memberData{User: ev.User}
	case *domain.MessagePosted:
		f.Data = postedData{ID: ev.MessageID, Body: ev.Body, ClientID: ev.ClientID}
	case *domain.MessageEdited:
		f.Data = editedData{ID: ev.MessageID, Body: ev.Body}
	case *domain.MessageDeleted:
		f.Data = deletedData{ID: ev.MessageID}
	default:
		return nil, fmt.Errorf("event at position %d: %s is not a room event", e.Position, e.Type)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode event frame at position %d: %w", e.Position, err)
	}
	return b, nil
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
