package domain

import "github.com/google/uuid"

// Evolve folds one appended event into the write side's inline state. The
// store calls it for every event it appends, inside the append transaction,
// and persists the keys it changed.
func Evolve(s *State, p Payload) {
	switch e := p.(type) {
	case *UserRegistered:
		s.put(userKey(e.UserID), UserState{ID: e.UserID, Username: e.Username, Status: StatusPending})
		s.put(usernameKey(e.Username), e.UserID)
		if !s.AnyAccount() {
			s.put(anyAccountKey, true)
		}
	case *UserApproved:
		s.setStatus(e.UserID, StatusApproved)
	case *UserRejected:
		s.setStatus(e.UserID, StatusRejected)
	case *UserDeactivated:
		s.setStatus(e.UserID, StatusDeactivated)
	case *RoleGranted:
		if u, ok := s.User(e.UserID); ok && !u.HasRole(e.Role) {
			u.Roles = append(u.Roles, e.Role)
			s.put(userKey(e.UserID), u)
		}
	case *SessionStarted:
		s.put(sessionsKey(e.UserID), append(s.Sessions(e.UserID), e.SessionID))
	case *SessionEnded:
		s.put(sessionsKey(e.UserID), without(s.Sessions(e.UserID), e.SessionID))
	case *RoomCreated:
		s.put(roomKey(e.RoomID), RoomState{ID: e.RoomID, Name: e.Name, Kind: e.Kind})
		if len(e.Direct) == 2 {
			s.put(directKey(e.Direct[0], e.Direct[1]), e.RoomID)
		}
	case *MemberJoined:
		s.put(memberKey(e.RoomID, e.User.ID), true)
	case *MemberLeft:
		s.put(memberKey(e.RoomID, e.User.ID), nil)
	case *MessagePosted:
		s.put(messageKey(e.RoomID, e.MessageID), MessageState{Author: e.Author.ID})
	case *MessageDeleted:
		if m, ok := s.Message(e.RoomID, e.MessageID); ok {
			m.Deleted = true
			s.put(messageKey(e.RoomID, e.MessageID), m)
		}
	case *ReadMarkerMoved:
		if e.Seq > s.ReadMarker(e.UserID, e.RoomID) {
			s.put(readKey(e.UserID, e.RoomID), e.Seq)
		}
	}
}

// StateKeysOf lists the keys Evolve reads for p, so a store replaying events
// into a fresh state knows what to load first.
func StateKeysOf(p Payload) []string {
	switch e := p.(type) {
	case *UserRegistered:
		return []string{userKey(e.UserID), usernameKey(e.Username), anyAccountKey}
	case *UserApproved:
		return []string{userKey(e.UserID)}
	case *UserRejected:
		return []string{userKey(e.UserID)}
	case *UserDeactivated:
		return []string{userKey(e.UserID)}
	case *RoleGranted:
		return []string{userKey(e.UserID)}
	case *SessionStarted:
		return []string{sessionsKey(e.UserID)}
	case *SessionEnded:
		return []string{sessionsKey(e.UserID)}
	case *MessageDeleted:
		return []string{messageKey(e.RoomID, e.MessageID)}
	case *ReadMarkerMoved:
		return []string{readKey(e.UserID, e.RoomID)}
	}
	return nil
}

func (s *State) setStatus(id uuid.UUID, status UserStatus) {
	if u, ok := s.User(id); ok {
		u.Status = status
		s.put(userKey(id), u)
	}
}

func without(ids []uuid.UUID, drop uuid.UUID) []uuid.UUID {
	out := ids[:0]
	for _, id := range ids {
		if id != drop {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
