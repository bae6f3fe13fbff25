package httpapi

import (
	"net/http"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

func (s *Server) listRooms(w http.ResponseWriter, r *http.Request, p *Principal) error {
	rooms, err := s.cfg.Rooms.RoomsFor(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	if rooms == nil {
		rooms = []projections.Room{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rooms": rooms})
	return nil
}

type createRoomBody struct {
	Name *string `json:"name"`
	Kind *string `json:"kind"`
}

func (s *Server) createRoom(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var body createRoomBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	name, err := requireString("name", body.Name)
	if err != nil {
		return err
	}
	if name, err = domain.NormalizeRoomName(name); err != nil {
		return err
	}
	kind, err := requireString("kind", body.Kind)
	if err != nil {
		return err
	}
	id := s.cfg.NewID()
	cmd := domain.CreateRoom{By: p.User.ID, RoomID: id, Name: name, Kind: domain.RoomKind(kind)}
	return s.roomCommand(w, r, p, cmd, id, http.StatusCreated)
}

// roomCommand runs a command on a room and answers the room as the caller
// now sees it, once the rooms model shows the command's effect.
func (s *Server) roomCommand(w http.ResponseWriter, r *http.Request, p *Principal, cmd domain.Command, room uuid.UUID, status int) error {
	events, err := s.cfg.Commands.Execute(r.Context(), cmd, s.meta(r, p))
	if err != nil {
		return err
	}
	s.waitFor(r.Context(), "rooms", events)
	got, err := s.cfg.Rooms.Room(r.Context(), room, p.User.ID)
	if err != nil {
		return err
	}
	writeJSON(w, status, map[string]any{"room": got})
	return nil
}

// visibleRoom applies PROTOCOL.md's visibility rules: unknown rooms are
// not_found, private and direct rooms of others forbidden; a public room is
// visible to all, and member reports whether the caller joined it.
func (s *Server) visibleRoom(r *http.Request, p *Principal) (projections.Room, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return projections.Room{}, domain.Errorf(domain.CodeNotFound, "room not found")
	}
	room, err := s.cfg.Rooms.Room(r.Context(), id, p.User.ID)
	if err != nil {
		return room, err
	}
	if room.Kind != domain.RoomPublic && !room.Member {
		return room, domain.Errorf(domain.CodeForbidden, "not a member of this room")
	}
	return room, nil
}

// memberRoom is visibleRoom for what only members may do.
func (s *Server) memberRoom(r *http.Request, p *Principal) (projections.Room, error) {
	room, err := s.visibleRoom(r, p)
	if err == nil && !room.Member {
		err = domain.Errorf(domain.CodeForbidden, "not a member of this room")
	}
	return room, err
}

func (s *Server) getRoom(w http.ResponseWriter, r *http.Request, p *Principal) error {
	room, err := s.visibleRoom(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"room": room})
	return nil
}

func (s *Server) joinRoom(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return domain.Errorf(domain.CodeNotFound, "room not found")
	}
	return s.roomCommand(w, r, p, domain.JoinRoom{By: p.User.ID, RoomID: id}, id, http.StatusOK)
}

func (s *Server) leaveRoom(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return domain.Errorf(domain.CodeNotFound, "room not found")
	}
	return s.roomCommand(w, r, p, domain.LeaveRoom{By: p.User.ID, RoomID: id}, id, http.StatusOK)
}

type addMemberBody struct {
	User *string `json:"user"`
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return domain.Errorf(domain.CodeNotFound, "room not found")
	}
	var body addMemberBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	raw, err := requireString("user", body.User)
	if err != nil {
		return err
	}
	user, err := uuid.Parse(raw)
	if err != nil {
		return domain.Errorf(domain.CodeInvalid, "user: must be a user id")
	}
	return s.roomCommand(w, r, p, domain.AddMember{By: p.User.ID, RoomID: id, UserID: user}, id, http.StatusOK)
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, p *Principal) error {
	room, err := s.visibleRoom(r, p)
	if err != nil {
		return err
	}
	members, err := s.cfg.Rooms.Members(r.Context(), room.ID)
	if err != nil {
		return err
	}
	if members == nil {
		members = []projections.Member{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": members})
	return nil
}

func (s *Server) openDirect(w http.ResponseWriter, r *http.Request, p *Principal) error {
	other, err := pathID(r, "user")
	if err != nil {
		return domain.Errorf(domain.CodeNotFound, "user not found")
	}
	events, err := s.cfg.Commands.Execute(r.Context(),
		domain.OpenDirect{By: p.User.ID, With: other, NewRoomID: s.cfg.NewID()}, s.meta(r, p))
	if err != nil {
		return err
	}
	s.waitFor(r.Context(), "rooms", events)
	id, err := s.cfg.Rooms.DirectRoom(r.Context(), p.User.ID, other)
	if err != nil {
		return err
	}
	room, err := s.cfg.Rooms.Room(r.Context(), id, p.User.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"room": room})
	return nil
}
