package projections

import (
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// Timestamp is a time in PROTOCOL.md's form: UTC, RFC 3339, exactly
// milliseconds ("2026-11-28T10:42:44.123Z").
type Timestamp time.Time

// TimeFormat is PROTOCOL.md's time layout.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// FormatTime renders t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// MarshalJSON writes the PROTOCOL.md form.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeFormat)+2)
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, TimeFormat)
	return append(b, '"'), nil
}

// UnmarshalJSON reads any RFC 3339 time.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var tt time.Time
	if err := tt.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = Timestamp(tt.UTC())
	return nil
}

// User is an account as the approval read model serves it (PROTOCOL.md User).
type User struct {
	ID        uuid.UUID         `json:"id"`
	Username  string            `json:"username"`
	Status    domain.UserStatus `json:"status"`
	Roles     []string          `json:"roles"` // never null on the wire
	CreatedAt Timestamp         `json:"created_at"`
}

// HasRole reports whether the user holds role.
func (u User) HasRole(role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Ref names the user in frames.
func (u User) Ref() domain.UserRef { return domain.UserRef{ID: u.ID, Username: u.Username} }

// Room is a room as one user sees it (PROTOCOL.md Room).
type Room struct {
	ID        uuid.UUID       `json:"id"`
	Name      string          `json:"name"`
	Kind      domain.RoomKind `json:"kind"`
	Members   int             `json:"members"`
	Member    bool            `json:"member"`
	Head      int64           `json:"head"`
	LastRead  int64           `json:"last_read"`
	Unread    int64           `json:"unread"`
	CreatedAt Timestamp       `json:"created_at"`
}

// Member is one entry of a room's member list.
type Member struct {
	ID       uuid.UUID `json:"id"`
	Username string    `json:"username"`
	Online   bool      `json:"online"`
}

// RoomFrame is a room `event` frame as the history read model stores it,
// under the room's seq; replays write these bytes unchanged.
type RoomFrame struct {
	Seq   int64
	Frame []byte
}
