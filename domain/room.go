package domain

import (
	"time"

	"github.com/google/uuid"
)

// CreateRoom opens a public or private room; the creator is its first
// member (room_created is seq 1, the creator's member_joined seq 2).
type CreateRoom struct {
	By     uuid.UUID
	RoomID uuid.UUID
	Name   string // already normalized
	Kind   RoomKind
}

func (c CreateRoom) Streams() []string { return []string{RoomStream(c.RoomID)} }
func (c CreateRoom) Keys() []string    { return []string{userKey(c.By)} }

func (c CreateRoom) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	u, err := approvedActor(s, c.By)
	if err != nil {
		return nil, err
	}
	if c.Kind != RoomPublic && c.Kind != RoomPrivate {
		return nil, Errorf(CodeInvalid, "kind: must be public or private")
	}
	stream := RoomStream(c.RoomID)
	return []NewEvent{
		{Stream: stream, ExpectedVersion: NoStream, Payload: &RoomCreated{RoomID: c.RoomID, Name: c.Name, Kind: c.Kind}},
		event(stream, &MemberJoined{RoomID: c.RoomID, User: u.Ref()}),
	}, nil
}

// OpenDirect returns the one direct room of two users, creating it on first
// call from either side. A lock stream per pair orders the two sides, so
// both calls find the same room.
type OpenDirect struct {
	By        uuid.UUID
	With      uuid.UUID
	NewRoomID uuid.UUID // used only when the room does not exist yet
}

// DirectStream is the lock stream of a pair of users; it never holds events.
func DirectStream(a, b uuid.UUID) string { return "direct-" + directKey(a, b)[len("direct:"):] }

func (c OpenDirect) Streams() []string {
	return []string{DirectStream(c.By, c.With), RoomStream(c.NewRoomID)}
}
func (c OpenDirect) Keys() []string {
	return []string{userKey(c.By), userKey(c.With), directKey(c.By, c.With)}
}

func (c OpenDirect) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	me, err := approvedActor(s, c.By)
	if err != nil {
		return nil, err
	}
	other, ok := s.User(c.With)
	if !ok || other.Status != StatusApproved {
		return nil, Errorf(CodeNotFound, "user not found")
	}
	if _, exists := s.DirectRoom(c.By, c.With); exists {
		return nil, nil
	}
	stream := RoomStream(c.NewRoomID)
	events := []NewEvent{
		{Stream: stream, ExpectedVersion: NoStream, Payload: &RoomCreated{RoomID: c.NewRoomID,
			Name: me.Username + ", " + other.Username, Kind: RoomDirect, Direct: []uuid.UUID{me.ID, other.ID}}},
		event(stream, &MemberJoined{RoomID: c.NewRoomID, User: me.Ref()}),
	}
	if other.ID != me.ID {
		events = append(events, event(stream, &MemberJoined{RoomID: c.NewRoomID, User: other.Ref()}))
	}
	return events, nil
}

// JoinRoom adds the caller to a public room; joining twice changes nothing.
type JoinRoom struct {
	By     uuid.UUID
	RoomID uuid.UUID
}

func (c JoinRoom) Streams() []string { return []string{RoomStream(c.RoomID)} }
func (c JoinRoom) Keys() []string {
	return []string{userKey(c.By), roomKey(c.RoomID), memberKey(c.RoomID, c.By)}
}

func (c JoinRoom) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	u, err := approvedActor(s, c.By)
	if err != nil {
		return nil, err
	}
	room, ok := s.Room(c.RoomID)
	if !ok {
		return nil, Errorf(CodeNotFound, "room not found")
	}
	if s.IsMember(room.ID, u.ID) {
		return nil, nil
	}
	if room.Kind != RoomPublic {
		return nil, Errorf(CodeForbidden, "only public rooms can be joined")
	}
	return []NewEvent{event(RoomStream(room.ID), &MemberJoined{RoomID: room.ID, User: u.Ref()})}, nil
}

// LeaveRoom removes the caller from a room; leaving a room one is not in
// changes nothing. Nobody leaves a direct room: it is the pair's one room.
type LeaveRoom struct {
	By     uuid.UUID
	RoomID uuid.UUID
}

func (c LeaveRoom) Streams() []string { return []string{RoomStream(c.RoomID)} }
func (c LeaveRoom) Keys() []string {
	return []string{userKey(c.By), roomKey(c.RoomID), memberKey(c.RoomID, c.By)}
}

func (c LeaveRoom) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	u, err := approvedActor(s, c.By)
	if err != nil {
		return nil, err
	}
	room, err := visibleRoom(s, c.RoomID, u.ID)
	if err != nil {
		return nil, err
	}
	if !s.IsMember(room.ID, u.ID) {
		return nil, nil
	}
	if room.Kind == RoomDirect {
		return nil, Errorf(CodeForbidden, "direct rooms cannot be left")
	}
	return []NewEvent{event(RoomStream(room.ID), &MemberLeft{RoomID: room.ID, User: u.Ref()})}, nil
}

// AddMember lets a member bring another approved user into a private room.
type AddMember struct {
	By     uuid.UUID
	RoomID uuid.UUID
	UserID uuid.UUID
}

func (c AddMember) Streams() []string { return []string{RoomStream(c.RoomID)} }
func (c AddMember) Keys() []string {
	return []string{userKey(c.By), userKey(c.UserID), roomKey(c.RoomID),
		memberKey(c.RoomID, c.By), memberKey(c.RoomID, c.UserID)}
}

func (c AddMember) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	u, err := approvedActor(s, c.By)
	if err != nil {
		return nil, err
	}
	room, err := memberRoom(s, c.RoomID, u.ID)
	if err != nil {
		return nil, err
	}
	if room.Kind == RoomDirect {
		return nil, Errorf(CodeForbidden, "direct rooms have exactly two members")
	}
	target, ok := s.User(c.UserID)
	if !ok || target.Status != StatusApproved {
		return nil, Errorf(CodeNotFound, "user not found")
	}
	if s.IsMember(room.ID, target.ID) {
		return nil, nil
	}
	return []NewEvent{event(RoomStream(room.ID), &MemberJoined{RoomID: room.ID, User: target.Ref()})}, nil
}

// visibleRoom returns a room the user may see: unknown rooms are not_found,
// private and direct rooms of others are forbidden.
func visibleRoom(s *State, roomID, userID uuid.UUID) (RoomState, error) {
	room, ok := s.Room(roomID)
	if !ok {
		return room, Errorf(CodeNotFound, "room not found")
	}
	if room.Kind != RoomPublic && !s.IsMember(roomID, userID) {
		return room, Errorf(CodeForbidden, "not a member of this room")
	}
	return room, nil
}

// memberRoom returns a room the user is a member of.
func memberRoom(s *State, roomID, userID uuid.UUID) (RoomState, error) {
	room, err := visibleRoom(s, roomID, userID)
	if err != nil {
		return room, err
	}
	if !s.IsMember(roomID, userID) {
		return room, Errorf(CodeForbidden, "not a member of this room")
	}
	return room, nil
}
