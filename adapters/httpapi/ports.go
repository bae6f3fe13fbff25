// Package httpapi serves PROTOCOL.md's HTTP API: accounts, administration,
// rooms, messages, audit and the operations endpoints. It turns requests
// into domain commands for the event store and answers from the read models.
//
// It must never import a database driver or another adapter except auth;
// cmd/chatd wires its ports.
package httpapi

import (
	"context"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// Commands runs domain commands; *eventstore.Store implements it. Execute
// returns once the events are committed; rule violations are *domain.Error.
type Commands interface {
	Execute(ctx context.Context, cmd domain.Command, meta domain.Metadata) ([]domain.Event, error)
}

// Session is a log-in as the store keeps it.
type Session struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	ExpiresAt time.Time
	Revoked   bool
}

// Person is one entry of the user directory (GET /api/users).
type Person struct {
	ID       uuid.UUID              `json:"id"`
	Username string                 `json:"username"`
	Online   bool                   `json:"online"`
	LastSeen *projections.Timestamp `json:"last_seen"`
}

// Accounts reads what authentication and the admin pages need.
type Accounts interface {
	// Credentials returns the user id and password hash of username, or a
	// *domain.Error with CodeNotFound. It reads the table written with the
	// registration, so it is current the moment registration returns.
	Credentials(ctx context.Context, username string) (uuid.UUID, []byte, error)
	// SessionUser returns the session stored under a token hash with its
	// user from the approval read model, in one read, or CodeNotFound when
	// either is missing. Revocation is written in the transaction that ends
	// the session, so every node sees it at once.
	SessionUser(ctx context.Context, hash []byte) (Session, projections.User, error)
	// User returns a user of the approval read model, or CodeNotFound.
	User(ctx context.Context, id uuid.UUID) (projections.User, error)
	// Users lists users with status ("" for all), oldest first.
	Users(ctx context.Context, status domain.UserStatus) ([]projections.User, error)
	// Directory lists approved users with their presence, by username.
	Directory(ctx context.Context) ([]Person, error)
}

// Waiter gives read-your-writes: WaitFor returns once projection name has
// applied the log up to cursor c, or ctx ends.
type Waiter interface {
	WaitFor(ctx context.Context, name string, c domain.Cursor) error
}

// Check is one readiness probe of /readyz; it fails with the reason.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Rooms reads the rooms read model, joined with read markers and history
// for the caller's last_read and unread.
type Rooms interface {
	// RoomsFor lists the public rooms and every room user is a member of.
	RoomsFor(ctx context.Context, user uuid.UUID) ([]projections.Room, error)
	// Room returns one room as user sees it, or CodeNotFound. It does not
	// check visibility; callers apply PROTOCOL.md's rules.
	Room(ctx context.Context, id, user uuid.UUID) (projections.Room, error)
	// Members lists a room's members with their presence, by username.
	Members(ctx context.Context, room uuid.UUID) ([]projections.Member, error)
	// DirectRoom returns the direct room of two users, or CodeNotFound.
	DirectRoom(ctx context.Context, a, b uuid.UUID) (uuid.UUID, error)
}

// History reads the history read model.
type History interface {
	// Messages returns one page of a room's messages, oldest first. more
	// tells whether messages exist beyond the page in its direction.
	Messages(ctx context.Context, room uuid.UUID, page Page) (msgs []projections.Message, more bool, err error)
	// Search finds messages matching q in rooms user is a member of (one
	// room when room is not Nil), best match first.
	Search(ctx context.Context, user uuid.UUID, q string, room uuid.UUID, limit int) ([]projections.Message, error)
}

// Page selects messages: the newest Limit when neither Before nor Forward is
// set; those with seq < Before; or, Forward, the first Limit with seq > After.
type Page struct {
	Before  int64
	After   int64
	Forward bool
	Limit   int
}
