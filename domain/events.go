package domain

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	segjson "github.com/segmentio/encoding/json"
)

// Payload is the body of one event type. EventType is the name stored in the
// log; a shape change gets a new name (MessagePostedV2) and an upcaster.
type Payload interface {
	EventType() string
}

// Account events.
type (
	UserRegistered struct {
		UserID   uuid.UUID `json:"user_id"`
		Username string    `json:"username"`
	}
	UserApproved struct {
		UserID uuid.UUID  `json:"user_id"`
		By     *uuid.UUID `json:"by"` // nil: the system (first account, operator tool)
	}
	UserRejected struct {
		UserID uuid.UUID  `json:"user_id"`
		By     *uuid.UUID `json:"by"`
	}
	UserDeactivated struct {
		UserID uuid.UUID  `json:"user_id"`
		By     *uuid.UUID `json:"by"`
	}
	RoleGranted struct {
		UserID uuid.UUID  `json:"user_id"`
		Role   string     `json:"role"`
		By     *uuid.UUID `json:"by"`
	}
	// SessionStarted records a login. The token is never in the log: its hash
	// lives in the sessions table written in the same transaction.
	SessionStarted struct {
		SessionID uuid.UUID `json:"session_id"`
		UserID    uuid.UUID `json:"user_id"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	SessionEnded struct {
		SessionID uuid.UUID `json:"session_id"`
		UserID    uuid.UUID `json:"user_id"`
		Reason    string    `json:"reason"` // logout, deactivated, expired
	}
)

// Room events: each is one PROTOCOL.md `event` frame kind.
type (
	RoomCreated struct {
		RoomID uuid.UUID `json:"room_id"`
		Name   string    `json:"name"`
		Kind   RoomKind  `json:"kind"`
		// Direct names the two users of a direct room, so the pair's one
		// room can be found again from either side.
		Direct []uuid.UUID `json:"direct,omitempty"`
	}
	MemberJoined struct {
		RoomID uuid.UUID `json:"room_id"`
		User   UserRef   `json:"user"`
	}
	MemberLeft struct {
		RoomID uuid.UUID `json:"room_id"`
		User   UserRef   `json:"user"`
	}
	MessagePosted struct {
		RoomID    uuid.UUID `json:"room_id"`
		MessageID uuid.UUID `json:"id"`
		ClientID  uuid.UUID `json:"client_id"`
		Author    UserRef   `json:"author"`
		Body      string    `json:"body"`
	}
	MessageEdited struct {
		RoomID    uuid.UUID `json:"room_id"`
		MessageID uuid.UUID `json:"id"`
		Body      string    `json:"body"`
	}
	MessageDeleted struct {
		RoomID    uuid.UUID `json:"room_id"`
		MessageID uuid.UUID `json:"id"`
	}
)

// Per-user and per-node events that must not consume a room's seq.
type (
	ReadMarkerMoved struct {
		UserID   uuid.UUID `json:"user_id"`
		Username string    `json:"username"`
		RoomID   uuid.UUID `json:"room_id"`
		Seq      int64     `json:"seq"`
	}
	// UserConnected: the user's first socket on Node opened. Presence is per
	// (user, node): a user is online while any node has them.
	UserConnected struct {
		UserID    uuid.UUID `json:"user_id"`
		Username  string    `json:"username"`
		SessionID uuid.UUID `json:"session_id"`
		Node      string    `json:"node"`
	}
	// UserDisconnected: the user's last socket on Node closed.
	UserDisconnected struct {
		UserID    uuid.UUID `json:"user_id"`
		Username  string    `json:"username"`
		SessionID uuid.UUID `json:"session_id"`
		Node      string    `json:"node"`
	}
	NodeStarted struct {
		Node string `json:"node"`
	}
	// NodeStopped takes every user of Node offline at once: said by the
	// node on shutdown, or by any other node when its lease expired.
	NodeStopped struct {
		Node   string `json:"node"`
		Reason string `json:"reason"` // shutdown, lease_expired
	}
	// LogSealed commits to every stream head at one moment (a Merkle tree
	// head), so a verifier notices a stream that vanished or was rewound.
	// The heads are those of every event up to UpTo in commit order,
	// other seals excepted.
	LogSealed struct {
		Streams  int64  `json:"streams"`
		TreeHash string `json:"tree_hash"` // lower-case hex
		UpTo     Cursor `json:"up_to"`
	}
)

func (UserRegistered) EventType() string   { return "UserRegistered" }
func (UserApproved) EventType() string     { return "UserApproved" }
func (UserRejected) EventType() string     { return "UserRejected" }
func (UserDeactivated) EventType() string  { return "UserDeactivated" }
func (RoleGranted) EventType() string      { return "RoleGranted" }
func (SessionStarted) EventType() string   { return "SessionStarted" }
func (SessionEnded) EventType() string     { return "SessionEnded" }
func (RoomCreated) EventType() string      { return "RoomCreated" }
func (MemberJoined) EventType() string     { return "MemberJoined" }
func (MemberLeft) EventType() string       { return "MemberLeft" }
func (MessagePosted) EventType() string    { return "MessagePosted" }
func (MessageEdited) EventType() string    { return "MessageEdited" }
func (MessageDeleted) EventType() string   { return "MessageDeleted" }
func (ReadMarkerMoved) EventType() string  { return "ReadMarkerMoved" }
func (UserConnected) EventType() string    { return "UserConnected" }
func (UserDisconnected) EventType() string { return "UserDisconnected" }
func (NodeStarted) EventType() string      { return "NodeStarted" }
func (NodeStopped) EventType() string      { return "NodeStopped" }
func (LogSealed) EventType() string        { return "LogSealed" }

// decoders maps every known event type to a constructor of its payload.
var decoders = map[string]func() Payload{
	"UserRegistered":   func() Payload { return &UserRegistered{} },
	"UserApproved":     func() Payload { return &UserApproved{} },
	"UserRejected":     func() Payload { return &UserRejected{} },
	"UserDeactivated":  func() Payload { return &UserDeactivated{} },
	"RoleGranted":      func() Payload { return &RoleGranted{} },
	"SessionStarted":   func() Payload { return &SessionStarted{} },
	"SessionEnded":     func() Payload { return &SessionEnded{} },
	"RoomCreated":      func() Payload { return &RoomCreated{} },
	"MemberJoined":     func() Payload { return &MemberJoined{} },
	"MemberLeft":       func() Payload { return &MemberLeft{} },
	"MessagePosted":    func() Payload { return &MessagePosted{} },
	"MessageEdited":    func() Payload { return &MessageEdited{} },
	"MessageDeleted":   func() Payload { return &MessageDeleted{} },
	"ReadMarkerMoved":  func() Payload { return &ReadMarkerMoved{} },
	"UserConnected":    func() Payload { return &UserConnected{} },
	"UserDisconnected": func() Payload { return &UserDisconnected{} },
	"NodeStarted":      func() Payload { return &NodeStarted{} },
	"NodeStopped":      func() Payload { return &NodeStopped{} },
	"LogSealed":        func() Payload { return &LogSealed{} },
}

// EventTypes lists the catalogue, sorted.
func EventTypes() []string {
	types := make([]string, 0, len(decoders))
	for t := range decoders {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// KnownEventType reports whether t is in the catalogue.
func KnownEventType(t string) bool { _, ok := decoders[t]; return ok }

// EncodePayload returns the JSON bytes stored (and hashed) for p.
func EncodePayload(p Payload) (json.RawMessage, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", p.EventType(), err)
	}
	return b, nil
}

// Decode returns the typed payload of e (a pointer, e.g. *MessagePosted).
// An unknown type or a corrupt payload is an error naming the position, so a
// reader can report it instead of panicking.
func (e *Event) Decode() (Payload, error) {
	newPayload, ok := decoders[e.Type]
	if !ok {
		return nil, fmt.Errorf("event at position %d (%s v%d): unknown type %q", e.Position, e.Stream, e.Version, e.Type)
	}
	p := newPayload()
	if err := segjson.Unmarshal(e.Data, p); err != nil {
		return nil, fmt.Errorf("event at position %d (%s v%d): decode %s: %w", e.Position, e.Stream, e.Version, e.Type, err)
	}
	return p, nil
}

// ProtocolKind returns the PROTOCOL.md `kind` of a room event type, or ""
// when the type is not a room event.
func ProtocolKind(eventType string) string {
	switch eventType {
	case "RoomCreated":
		return "room_created"
	case "MemberJoined":
		return "member_joined"
	case "MemberLeft":
		return "member_left"
	case "MessagePosted":
		return "message_posted"
	case "MessageEdited":
		return "message_edited"
	case "MessageDeleted":
		return "message_deleted"
	}
	return ""
}
