package httpapi

import (
	"net/http"

	"github.com/chatlog/chat/adapters/auth"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
)

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	status := domain.UserStatus(r.URL.Query().Get("status"))
	switch status {
	case "", domain.StatusPending, domain.StatusApproved, domain.StatusRejected, domain.StatusDeactivated:
	default:
		return domain.Errorf(domain.CodeInvalid, "status: must be pending, approved, rejected or deactivated")
	}
	users, err := s.cfg.Accounts.Users(r.Context(), status)
	if err != nil {
		return err
	}
	if users == nil {
		users = []projections.User{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
	return nil
}

type createUserBody struct {
	credentialsBody
	Roles []string `json:"roles"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var body createUserBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	username, password, err := body.validate()
	if err != nil {
		return err
	}
	for _, role := range body.Roles {
		if err := domain.ValidateRole(role); err != nil {
			return err
		}
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	by := p.User.ID
	cmd := domain.CreateUser{By: &by, UserID: s.cfg.NewID(), Username: username, PasswordHash: hash, Roles: body.Roles}
	events, err := s.cfg.Commands.Execute(r.Context(), cmd, s.meta(r, p))
	if err != nil {
		return err
	}
	s.waitFor(r.Context(), "approval", events)
	writeJSON(w, http.StatusCreated, map[string]any{"user": userFromEvents(events)})
	return nil
}

var transitions = map[string]domain.Transition{
	"approve":    domain.Approve,
	"reject":     domain.Reject,
	"deactivate": domain.Deactivate,
}

func (s *Server) changeStatus(w http.ResponseWriter, r *http.Request, p *Principal) error {
	to, ok := transitions[r.PathValue("action")]
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "no such endpoint")
	}
	id, err := pathID(r, "id")
	if err != nil {
		return domain.Errorf(domain.CodeNotFound, "user not found")
	}
	by := p.User.ID
	events, err := s.cfg.Commands.Execute(r.Context(), domain.ChangeStatus{By: &by, UserID: id, To: to}, s.meta(r, p))
	if err != nil {
		return err
	}
	s.waitFor(r.Context(), "approval", events)
	user, err := s.cfg.Accounts.User(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": user})
	return nil
}
