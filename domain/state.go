package domain

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/google/uuid"
	segjson "github.com/segmentio/encoding/json"
)

// State is the write side's small state: the few facts decisions need
// (user status, memberships, message authors, name reservations), kept as
// keyed values in an inline table that the store updates in the same
// transaction as the events, under the stream locks of the command. Decisions
// therefore never fold a room's whole history.
//
// The store loads the keys a command names, calls Decide, then Evolve for
// every appended event, and writes back the keys Evolve changed.
type State struct {
	values map[string][]byte
	heads  map[string]int64
	dirty  map[string]bool
}

// NewState wraps loaded values (missing keys are absent) and stream heads.
func NewState(values map[string][]byte, heads map[string]int64) *State {
	if values == nil {
		values = map[string][]byte{}
	}
	if heads == nil {
		heads = map[string]int64{}
	}
	return &State{values: values, heads: heads, dirty: map[string]bool{}}
}

// Head returns the current version of a locked stream (0 when empty).
func (s *State) Head(stream string) int64 { return s.heads[stream] }

// SetHead records a stream's new head after an append in the same batch.
func (s *State) SetHead(stream string, version int64) { s.heads[stream] = version }

// Has reports whether a key was loaded (present or known absent).
func (s *State) Has(key string) bool { _, ok := s.values[key]; return ok }

// Load adds loaded values for keys not yet known; nil marks a known absence.
func (s *State) Load(key string, value []byte) {
	if _, ok := s.values[key]; !ok {
		s.values[key] = value
	}
}

// Dirty returns the changed keys in sorted order and their values (nil:
// delete), then forgets that they were changed.
func (s *State) Dirty() (keys []string, values [][]byte) {
	for k := range s.dirty {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		values = append(values, s.values[k])
	}
	clear(s.dirty)
	return keys, values
}

func (s *State) get(key string, into any) bool {
	raw := s.values[key]
	if raw == nil {
		return false
	}
	if err := segjson.Unmarshal(raw, into); err != nil {
		// The inline table is written only by Evolve; an undecodable value
		// is a bug, and treating it as absent would let a decision slip.
		panic(fmt.Sprintf("domain state %q: %v", key, err))
	}
	return true
}

func (s *State) put(key string, v any) {
	if v == nil {
		s.values[key] = nil
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("domain state %q: %v", key, err))
		}
		s.values[key] = b
	}
	s.dirty[key] = true
}

// Keys of the inline state.
func userKey(id uuid.UUID) string    { return "user:" + id.String() }
func usernameKey(name string) string { return "username:" + name }
func roomKey(id uuid.UUID) string    { return "room:" + id.String() }
func memberKey(room, user uuid.UUID) string {
	return "member:" + room.String() + ":" + user.String()
}
func messageKey(room, msg uuid.UUID) string { return "msg:" + room.String() + ":" + msg.String() }
func readKey(user, room uuid.UUID) string   { return "read:" + user.String() + ":" + room.String() }
func sessionsKey(user uuid.UUID) string     { return "sessions:" + user.String() }
func directKey(a, b uuid.UUID) string {
	if b.String() < a.String() {
		a, b = b, a
	}
	return "direct:" + a.String() + ":" + b.String()
}

const anyAccountKey = "accounts:any"

// UserStatus is an account's approval state.
type UserStatus string

const (
	StatusPending     UserStatus = "pending"
	StatusApproved    UserStatus = "approved"
	StatusRejected    UserStatus = "rejected"
	StatusDeactivated UserStatus = "deactivated"
)

// UserState is what decisions know of a user.
type UserState struct {
	ID       uuid.UUID  `json:"id"`
	Username string     `json:"username"`
	Status   UserStatus `json:"status"`
	Roles    []string   `json:"roles,omitempty"`
}

// HasRole reports whether the user holds role.
func (u UserState) HasRole(role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Ref names the user in payloads.
func (u UserState) Ref() UserRef { return UserRef{ID: u.ID, Username: u.Username} }

// RoomKind is public, private or direct.
type RoomKind string

const (
	RoomPublic  RoomKind = "public"
	RoomPrivate RoomKind = "private"
	RoomDirect  RoomKind = "direct"
)

// RoomState is what decisions know of a room.
type RoomState struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
	Kind RoomKind  `json:"kind"`
}

// MessageState is what decisions know of a message.
type MessageState struct {
	Author  uuid.UUID `json:"author"`
	Deleted bool      `json:"deleted,omitempty"`
}

// User returns a user's state.
func (s *State) User(id uuid.UUID) (UserState, bool) {
	var u UserState
	return u, s.get(userKey(id), &u)
}

// Room returns a room's state.
func (s *State) Room(id uuid.UUID) (RoomState, bool) {
	var r RoomState
	return r, s.get(roomKey(id), &r)
}

// IsMember reports whether user is a member of room.
func (s *State) IsMember(room, user uuid.UUID) bool { return s.values[memberKey(room, user)] != nil }

// Message returns a message's state.
func (s *State) Message(room, msg uuid.UUID) (MessageState, bool) {
	var m MessageState
	return m, s.get(messageKey(room, msg), &m)
}

// ReadMarker returns the user's last read seq in room.
func (s *State) ReadMarker(user, room uuid.UUID) int64 {
	var seq int64
	s.get(readKey(user, room), &seq)
	return seq
}

// UsernameOwner returns the id of the user holding name.
func (s *State) UsernameOwner(name string) (uuid.UUID, bool) {
	var id uuid.UUID
	return id, s.get(usernameKey(name), &id)
}

// DirectRoom returns the direct room of two users.
func (s *State) DirectRoom(a, b uuid.UUID) (uuid.UUID, bool) {
	var id uuid.UUID
	return id, s.get(directKey(a, b), &id)
}

// Sessions returns the user's open sessions.
func (s *State) Sessions(user uuid.UUID) []uuid.UUID {
	var ids []uuid.UUID
	s.get(sessionsKey(user), &ids)
	return ids
}

// AnyAccount reports whether any account was ever registered.
func (s *State) AnyAccount() bool { return s.values[anyAccountKey] != nil }
