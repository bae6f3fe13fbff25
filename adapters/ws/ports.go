// Package ws is the WebSocket gateway of PROTOCOL.md ("The socket: GET
// /ws"), built on github.com/gobwas/ws: it upgrades connections, decodes
// client frames into domain commands, acks them after COMMIT, and writes
// the projected updates of the bus to the local sockets that want them.
//
// It depends on domain and projections only; the stores, the bus and the
// session lookup are reached through the ports below, which cmd/chatd
// wires. It must never import a database driver or another adapter.
package ws

import (
	"context"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// Session is an authenticated log-in: the session id (sockets of a session
// close with 4001 when it ends) and the user as the hello frame shows it.
type Session struct {
	ID   uuid.UUID
	User projections.User
}

// Authenticator resolves the token of a handshake (the bearer token, or the
// chat_session cookie) to a live session of an approved user.
type Authenticator interface {
	// Authenticate returns the session of token. An unknown, revoked or
	// expired token, or a user who may not log in, is a *domain.Error with
	// CodeUnauthorized (the handshake gets 401); any other error is
	// internal (500).
	Authenticate(ctx context.Context, token string) (Session, error)
}

// Commands runs domain commands; *eventstore.Store implements it. Execute
// returns once the events are committed (the gateway acks only then); an
// idempotent repeat returns the events recorded the first time. Rule
// violations are *domain.Error.
type Commands interface {
	Execute(ctx context.Context, cmd domain.Command, meta domain.Metadata) ([]domain.Event, error)
}

// Rooms answers the membership questions of the socket.
type Rooms interface {
	// Access returns the head seq of room if user may subscribe to it: an
	// unknown room is CodeNotFound, a room user is not a member of is
	// CodeForbidden (PROTOCOL.md "Precise rules").
	Access(ctx context.Context, room, user uuid.UUID) (head int64, err error)
	// RoomsOf lists the rooms user is a member of; presence frames go to
	// the users who share one with the subject.
	RoomsOf(ctx context.Context, user uuid.UUID) ([]uuid.UUID, error)
}

// RoomFrame is a room `event` frame as the history read model stores it;
// the gateway never modifies its bytes.
type RoomFrame = projections.RoomFrame

// History replays room events for resumes and gap healing.
type History interface {
	// EventsAfter returns up to limit frames of room with seq > after, in
	// seq order, oldest first. It reads the history read model, which is
	// committed before its updates are published, so every seq a gateway
	// has seen live is there.
	EventsAfter(ctx context.Context, room uuid.UUID, after int64, limit int) ([]RoomFrame, error)
}

// Signals carries ephemeral typing frames between gateway nodes (the bus's
// chat.signals). Every node, this one included, must get each published
// frame back through Gateway.DeliverTyping. A nil Signals delivers typing
// on this node only.
type Signals interface {
	PublishTyping(ctx context.Context, room, user uuid.UUID, frame []byte) error
}
