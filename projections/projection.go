// Package projections builds the read models from the event log: the folds
// of each projection, the checkpoints that make them idempotent, the runner
// that feeds them batches (healing gaps from the log) and the rebuild that
// builds a new version beside the serving one.
//
// It depends on domain (and the Prometheus client for the runner's metrics). The tables behind the folds are the adapters'
// (adapters/postgres, adapters/sqlite), reached through the ports below; the
// bus that carries batches is adapters/bus, which calls Runner.HandleBatch.
package projections

import (
	"context"
	"errors"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// Projection folds events into one read model.
type Projection interface {
	// Name identifies the projection; Version changes whenever its fold or
	// tables change, and a new version is rebuilt from the log beside the
	// old one.
	Name() string
	Version() int
	// Apply folds one event through tx. Events a projection does not care
	// about are ignored. It returns the updates to publish once the
	// transaction committed. A returned error fails the whole batch.
	Apply(ctx context.Context, tx Tx, e *domain.Event, p domain.Payload) ([]Update, error)
}

// Selective is an optional Projection extension. Reads reports whether
// Apply needs the payload of events of a type; the runner decodes only
// those and hands Apply a nil payload for the others (it still sees the
// event: rooms moves a room's head on every room event). Most of the log
// is messages, and four of the five projections have no use for their
// payloads. TestSelectiveProjectionsReadWhatTheyFold keeps Reads honest.
type Selective interface {
	Reads(eventType string) bool
}

// Sparse is an optional Projection extension. Folds reports whether Apply
// does anything with events of a type; a batch of none of them moves only
// the checkpoint, which the bus then writes less often (approval, presence
// and read markers fold a few types, while the log is mostly messages).
// TestSelectiveProjectionsReadWhatTheyFold keeps Folds honest.
type Sparse interface {
	Folds(eventType string) bool
}

// Store holds the read models and their checkpoints.
type Store interface {
	// Begin opens a transaction on the serving version of projection name,
	// locking its checkpoint row so two runners never apply the same batch.
	// It returns ErrNoProjection if the projection was never prepared.
	Begin(ctx context.Context, name string) (Tx, error)
	// BeginVersion is Begin on a given version, serving or not (rebuilds).
	BeginVersion(ctx context.Context, name string, version int) (Tx, error)
	// Prepare creates the tables and checkpoint of name@version if missing.
	// The first version prepared for a name becomes the serving one.
	Prepare(ctx context.Context, name string, version int) error
	// Versions returns the serving version of name and every prepared one.
	Versions(ctx context.Context, name string) (serving int, all []int, err error)
	// Activate makes version serve reads and drops every other version,
	// in one transaction, provided its checkpoint equals the serving one's.
	Activate(ctx context.Context, name string, version int) error
}

// Tx is one read-model transaction of one projection version. The writer
// methods act on that version's tables.
type Tx interface {
	Version() int
	Checkpoint(ctx context.Context) (domain.Cursor, error)
	SetCheckpoint(ctx context.Context, c domain.Cursor) error
	Commit(ctx context.Context) error
	// Rollback abandons the transaction; after Commit it does nothing.
	Rollback(ctx context.Context) error

	ApprovalWriter
	RoomsWriter
	HistoryWriter
	PresenceWriter
	ReadMarkersWriter
}

// ErrNoProjection is returned by Store.Begin for an unprepared projection.
var ErrNoProjection = errors.New("projection not prepared")

// LogReader reads the log in commit order (see eventstore.Reader.ReadAll).
type LogReader interface {
	ReadAll(ctx context.Context, after domain.Cursor, limit int) ([]domain.Event, error)
}

// UpdateKind says what a projected update means to a gateway.
type UpdateKind uint8

const (
	// UpdateRoomEvent is a room `event` frame, with Room and Seq set.
	UpdateRoomEvent UpdateKind = iota + 1
	// UpdateRead is a `read` frame for the room's subscribers.
	UpdateRead
	// UpdatePresence is a `presence` frame for users sharing a room with User.
	UpdatePresence
	// UpdateSessionEnded closes the sockets of Session (4001).
	UpdateSessionEnded
	// UpdateUserDeactivated closes every socket of User (4003).
	UpdateUserDeactivated
	// UpdateMembership tells gateways that User joined or left Room.
	UpdateMembership
)

// Update is what a projection publishes after it committed: for frames, the
// PROTOCOL.md frame already encoded, so gateways write the same bytes to
// every socket.
type Update struct {
	Kind    UpdateKind `json:"k"`
	Room    uuid.UUID  `json:"r,omitzero"`
	Seq     int64      `json:"s,omitempty"`
	User    uuid.UUID  `json:"u,omitzero"`
	Session uuid.UUID  `json:"x,omitzero"`
	Frame   []byte     `json:"f,omitempty"`
	// Cause names the command a room event answers (see CauseOf), so the
	// gateway holds the event back only from the socket still waiting for
	// that command's ack.
	Cause uuid.UUID `json:"c,omitzero"`
}

// CauseOf is what a socket's command and the room event it records have in
// common: the client id of a posted message, the message id of an edit or
// a delete; uuid.Nil for other events.
func CauseOf(p domain.Payload) uuid.UUID {
	switch e := p.(type) {
	case *domain.MessagePosted:
		return e.ClientID
	case *domain.MessageEdited:
		return e.MessageID
	case *domain.MessageDeleted:
		return e.MessageID
	}
	return uuid.Nil
}
