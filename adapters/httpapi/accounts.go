package httpapi

import (
	"net/http"

	"github.com/chatlog/chat/adapters/auth"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

type credentialsBody struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

// validate normalizes the username and checks both fields.
func (b credentialsBody) validate() (username, password string, err error) {
	name, err := requireString("username", b.Username)
	if err != nil {
		return "", "", err
	}
	if password, err = requireString("password", b.Password); err != nil {
		return "", "", err
	}
	if username, err = domain.NormalizeUsername(name); err != nil {
		return "", "", err
	}
	return username, password, domain.ValidatePassword(password)
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var body credentialsBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	username, password, err := body.validate()
	if err != nil {
		return err
	}
	if ok, wait := s.cfg.RegisterPerAddr.Allow(s.clientAddr(r)); !ok {
		return &rateLimitError{wait: wait}
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	cmd := domain.RegisterUser{UserID: s.cfg.NewID(), Username: username, PasswordHash: hash}
	events, err := s.cfg.Commands.Execute(r.Context(), cmd, s.meta(r, nil))
	if err != nil {
		return err
	}
	s.waitFor(r.Context(), "approval", events)
	writeJSON(w, http.StatusCreated, map[string]any{"user": userFromEvents(events)})
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var body credentialsBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	username, password, err := body.validate()
	if err != nil {
		return err
	}
	if ok, wait := s.cfg.LoginPerAddr.Allow(s.clientAddr(r)); !ok {
		return &rateLimitError{wait: wait}
	}
	if ok, wait := s.cfg.LoginPerUser.Allow(username); !ok {
		return &rateLimitError{wait: wait}
	}
	userID, hash, err := s.cfg.Accounts.Credentials(r.Context(), username)
	if err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
		return err
	}
	// Unknown users are checked against a decoy hash: same time, same answer.
	if ok, err := auth.CheckPassword(hash, password); err != nil || !ok {
		if err != nil {
			s.log.ErrorContext(r.Context(), "stored password hash unreadable", "user", userID, "err", err)
		}
		return domain.Errorf(domain.CodeUnauthorized, "wrong username or password")
	}
	token, tokenHash, err := auth.NewToken()
	if err != nil {
		return err
	}
	expires := s.cfg.Now().Add(s.cfg.SessionTTL)
	cmd := domain.StartSession{UserID: userID, SessionID: s.cfg.NewID(), TokenHash: tokenHash, ExpiresAt: expires}
	meta := s.meta(r, nil)
	meta.ActorID, meta.ActorName = userID.String(), username
	events, err := s.cfg.Commands.Execute(r.Context(), cmd, meta)
	if err != nil {
		return err
	}
	// The session event follows every earlier event of the user in the log,
	// so once the approval model has it, it shows the approval too.
	s.waitFor(r.Context(), "approval", events)
	user, err := s.cfg.Accounts.User(r.Context(), userID)
	if err != nil {
		return err
	}
	s.setSessionCookie(w, r, token, int(s.cfg.SessionTTL.Seconds()))
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "user": user})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p *Principal) error {
	cmd := domain.EndSession{UserID: p.User.ID, SessionID: p.Session.ID, Reason: "logout"}
	if _, err := s.cfg.Commands.Execute(r.Context(), cmd, s.meta(r, p)); err != nil {
		return err
	}
	s.setSessionCookie(w, r, "", -1)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, _ *http.Request, p *Principal) error {
	writeJSON(w, http.StatusOK, map[string]any{"user": p.User})
	return nil
}

func (s *Server) directory(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	people, err := s.cfg.Accounts.Directory(r.Context())
	if err != nil {
		return err
	}
	if people == nil {
		people = []Person{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": people})
	return nil
}

// userFromEvents builds the User a registration created from its own
// events, so the answer does not depend on a projection's progress.
func userFromEvents(events []domain.Event) projections.User {
	u := projections.User{Roles: []string{}}
	for i := range events {
		p, err := events[i].Decode()
		if err != nil {
			continue
		}
		switch e := p.(type) {
		case *domain.UserRegistered:
			u.ID, u.Username, u.Status = e.UserID, e.Username, domain.StatusPending
			u.CreatedAt = projections.Timestamp(events[i].RecordedAt)
		case *domain.UserApproved:
			u.Status = domain.StatusApproved
		case *domain.RoleGranted:
			u.Roles = append(u.Roles, e.Role)
		}
	}
	return u
}

// pathID parses a path parameter that must be a UUID.
func pathID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		return uuid.Nil, domain.Errorf(domain.CodeNotFound, "%s: no such id", name)
	}
	return id, nil
}
