package domain

import (
	"time"

	"github.com/google/uuid"
)

// PostMessage sends a message to a room the author is a member of. It is
// idempotent by (author, client_id): a resend returns the first message.
type PostMessage struct {
	By        uuid.UUID
	RoomID    uuid.UUID
	MessageID uuid.UUID
	ClientID  uuid.UUID
	Body      string // already normalized
}

func (c PostMessage) Streams() []string { return []string{RoomStream(c.RoomID)} }
func (c PostMessage) Keys() []string {
	return []string{userKey(c.By), roomKey(c.RoomID), memberKey(c.RoomID, c.By)}
}

// IdempotencyKey is author:client_id on the room stream.
func (c PostMessage) IdempotencyKey() (string, string) {
	return RoomStream(c.RoomID), c.By.String() + ":" + c.ClientID.String()
}

func (c PostMessage) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	u, err := approvedActor(s, c.By)
	if err != nil {
		return nil, err
	}
	room, err := memberRoom(s, c.RoomID, u.ID)
	if err != nil {
		return nil, err
	}
	stream, key := c.IdempotencyKey()
	return []NewEvent{{Stream: stream, ExpectedVersion: AnyVersion, IdempotencyKey: key,
		Payload: &MessagePosted{RoomID: room.ID, MessageID: c.MessageID, ClientID: c.ClientID, Author: u.Ref(), Body: c.Body}}}, nil
}

// EditMessage replaces the body of one's own message.
type EditMessage struct {
	By        uuid.UUID
	RoomID    uuid.UUID
	MessageID uuid.UUID
	Body      string // already normalized
}

func (c EditMessage) Streams() []string { return []string{RoomStream(c.RoomID)} }
func (c EditMessage) Keys() []string {
	return []string{userKey(c.By), roomKey(c.RoomID), memberKey(c.RoomID, c.By), messageKey(c.RoomID, c.MessageID)}
}

func (c EditMessage) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	u, room, msg, err := loadMessage(s, c.By, c.RoomID, c.MessageID)
	if err != nil {
		return nil, err
	}
	if msg.Author != u.ID {
		return nil, Errorf(CodeForbidden, "only the author can edit a message")
	}
	return []NewEvent{event(RoomStream(room.ID), &MessageEdited{RoomID: room.ID, MessageID: c.MessageID, Body: c.Body})}, nil
}

// DeleteMessage tombstones a message: its author or an administrator may.
type DeleteMessage struct {
	By        uuid.UUID
	RoomID    uuid.UUID
	MessageID uuid.UUID
}

func (c DeleteMessage) Streams() []string { return []string{RoomStream(c.RoomID)} }
func (c DeleteMessage) Keys() []string {
	return []string{userKey(c.By), roomKey(c.RoomID), memberKey(c.RoomID, c.By), messageKey(c.RoomID, c.MessageID)}
}

func (c DeleteMessage) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	u, room, msg, err := loadMessage(s, c.By, c.RoomID, c.MessageID)
	if err != nil {
		return nil, err
	}
	if msg.Author != u.ID && !u.HasRole(RoleAdmin) {
		return nil, Errorf(CodeForbidden, "only the author or an administrator can delete a message")
	}
	return []NewEvent{event(RoomStream(room.ID), &MessageDeleted{RoomID: room.ID, MessageID: c.MessageID})}, nil
}

// loadMessage finds a live message in a room the user is a member of.
func loadMessage(s *State, by, roomID, msgID uuid.UUID) (UserState, RoomState, MessageState, error) {
	u, err := approvedActor(s, by)
	if err != nil {
		return u, RoomState{}, MessageState{}, err
	}
	room, err := memberRoom(s, roomID, u.ID)
	if err != nil {
		return u, room, MessageState{}, err
	}
	msg, ok := s.Message(roomID, msgID)
	if !ok || msg.Deleted {
		return u, room, msg, Errorf(CodeNotFound, "message not found")
	}
	return u, room, msg, nil
}

// MoveReadMarker records how far a user has read a room. Markers only move
// forward (a lower seq changes nothing) and never past the room's head.
type MoveReadMarker struct {
	By     uuid.UUID
	RoomID uuid.UUID
	Seq    int64
}

func (c MoveReadMarker) Streams() []string {
	return []string{UserStream(c.By), RoomStream(c.RoomID)}
}
func (c MoveReadMarker) Keys() []string {
	return []string{userKey(c.By), roomKey(c.RoomID), memberKey(c.RoomID, c.By), readKey(c.By, c.RoomID)}
}

func (c MoveReadMarker) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	u, err := approvedActor(s, c.By)
	if err != nil {
		return nil, err
	}
	if _, err := memberRoom(s, c.RoomID, u.ID); err != nil {
		return nil, err
	}
	if c.Seq < 0 {
		return nil, Errorf(CodeInvalid, "seq: must not be negative")
	}
	seq := min(c.Seq, s.Head(RoomStream(c.RoomID)))
	if seq <= s.ReadMarker(u.ID, c.RoomID) {
		return nil, nil
	}
	return []NewEvent{event(UserStream(u.ID), &ReadMarkerMoved{UserID: u.ID, Username: u.Username, RoomID: c.RoomID, Seq: seq})}, nil
}

// Connect and Disconnect record presence; they need no state beyond the
// order of the user's stream.
type Connect struct {
	UserID    uuid.UUID
	Username  string
	SessionID uuid.UUID
	Node      string
	Online    bool // false: disconnect
}

func (c Connect) Streams() []string { return []string{UserStream(c.UserID)} }
func (Connect) Keys() []string      { return nil }

func (c Connect) Decide(_ *State, _ time.Time) ([]NewEvent, error) {
	if c.Online {
		return []NewEvent{event(UserStream(c.UserID), &UserConnected{UserID: c.UserID, Username: c.Username, SessionID: c.SessionID, Node: c.Node})}, nil
	}
	return []NewEvent{event(UserStream(c.UserID), &UserDisconnected{UserID: c.UserID, Username: c.Username, SessionID: c.SessionID, Node: c.Node})}, nil
}

// StopNode takes every user of a node offline: the node's own goodbye, or
// another node's verdict once the node's lease expired.
type StopNode struct {
	Node   string
	Reason string
}

func (c StopNode) Streams() []string { return []string{NodeStream(c.Node)} }
func (StopNode) Keys() []string      { return nil }

func (c StopNode) Decide(_ *State, _ time.Time) ([]NewEvent, error) {
	return []NewEvent{event(NodeStream(c.Node), &NodeStopped{Node: c.Node, Reason: c.Reason})}, nil
}

// StartNode records a node joining; it also clears presence a crashed
// earlier run of the same node id left behind.
type StartNode struct{ Node string }

func (c StartNode) Streams() []string { return []string{NodeStream(c.Node)} }
func (StartNode) Keys() []string      { return nil }

func (c StartNode) Decide(_ *State, _ time.Time) ([]NewEvent, error) {
	return []NewEvent{event(NodeStream(c.Node), &NodeStarted{Node: c.Node})}, nil
}
