package domain

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Event is one immutable entry of the log, as it was recorded.
//
// Data and Metadata hold the exact JSON bytes that were hashed; they are
// never re-encoded, so a verifier can recompute Hash from the stored row.
type Event struct {
	Position   int64     // global, increases with commit order but may have gaps
	TxID       uint64    // the appending transaction; with Position, the tailing cursor
	ID         uuid.UUID // unique per event
	Stream     string
	Version    int64 // 1-based position within Stream; a room stream's version is its seq
	Type       string
	Data       json.RawMessage
	Metadata   json.RawMessage
	RecordedAt time.Time // UTC, millisecond precision
	PrevHash   []byte
	Hash       []byte
}

// Cursor is a place in the commit-ordered log: events are read in
// (TxID, Position) order, which is the order in which they became visible.
type Cursor struct {
	TxID     uint64 `json:"tx"`
	Position int64  `json:"pos"`
}

// Cursor returns the cursor just at e, so reading after it continues with
// the next event.
func (e *Event) Cursor() Cursor { return Cursor{TxID: e.TxID, Position: e.Position} }

// Less reports whether c comes before o in commit order.
func (c Cursor) Less(o Cursor) bool {
	if c.TxID != o.TxID {
		return c.TxID < o.TxID
	}
	return c.Position < o.Position
}

// String renders the cursor as "tx:pos", the form used in bus metadata.
func (c Cursor) String() string { return fmt.Sprintf("%d:%d", c.TxID, c.Position) }

// ParseCursor reads the form written by Cursor.String, and only that form:
// Sscanf alone ignores trailing input, so "1:2x" would pass as 1:2.
func ParseCursor(s string) (Cursor, error) {
	var c Cursor
	if _, err := fmt.Sscanf(s, "%d:%d", &c.TxID, &c.Position); err != nil {
		return Cursor{}, fmt.Errorf("parse cursor %q: %w", s, err)
	}
	if c.String() != s {
		return Cursor{}, fmt.Errorf("parse cursor %q: not of the form tx:pos", s)
	}
	return c, nil
}

// Metadata says who caused an event and from where. It is stored beside the
// payload and covered by the hash.
type Metadata struct {
	ActorID     string `json:"actor_id,omitempty"`
	ActorName   string `json:"actor_name,omitempty"`
	ClientAddr  string `json:"client_addr,omitempty"`
	Correlation string `json:"correlation,omitempty"`
	Causation   string `json:"causation,omitempty"`
	Node        string `json:"node,omitempty"`
}

// Actor returns the user who caused the event, or nil for system events.
func (m Metadata) Actor() *UserRef {
	id, err := uuid.Parse(m.ActorID)
	if err != nil {
		return nil
	}
	return &UserRef{ID: id, Username: m.ActorName}
}

// DecodeMetadata parses an event's metadata; empty input is no metadata.
func DecodeMetadata(raw json.RawMessage) (Metadata, error) {
	var m Metadata
	if len(raw) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("decode metadata: %w", err)
	}
	return m, nil
}

// UserRef names a user in payloads and frames.
type UserRef struct {
	ID       uuid.UUID `json:"id"`
	Username string    `json:"username"`
}

// NewEvent is an event a decision wants appended; the store gives it its
// id, version, time and hashes.
type NewEvent struct {
	Stream string
	// ExpectedVersion is checked against the stream head before appending:
	// AnyVersion skips the check, NoStream demands an empty stream.
	ExpectedVersion int64
	Payload         Payload
	// IdempotencyKey, when set, makes a second append with the same key on
	// the same stream return the first recorded event instead of appending.
	IdempotencyKey string
}

// Expected versions with a special meaning.
const (
	AnyVersion int64 = -1
	NoStream   int64 = 0
)

// Stream names. A room stream's version is the room's seq.
func UserStream(id uuid.UUID) string    { return "user-" + id.String() }
func RoomStream(id uuid.UUID) string    { return "room-" + id.String() }
func NodeStream(node string) string     { return "node-" + node }
func UsernameStream(name string) string { return "username-" + name }

// AccountsStream orders registrations, so "the first account becomes admin"
// is decided under one lock and two simultaneous first sign-ups cannot both win.
const AccountsStream = "accounts"

// SealStream holds the periodic Merkle seals over all stream heads.
const SealStream = "seals"

// RoomIDFromStream returns the room id of a room stream name.
func RoomIDFromStream(stream string) (uuid.UUID, bool) {
	const prefix = "room-"
	if len(stream) != len(prefix)+36 || stream[:len(prefix)] != prefix {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(stream[len(prefix):])
	return id, err == nil
}
