package domain

import (
	"time"

	"github.com/google/uuid"
)

// RegisterUser signs up a new account. The first account ever registered
// becomes an approved admin; every later one waits for an administrator.
// Registrations serialize on AccountsStream, so two simultaneous first
// sign-ups cannot both become admin, and a username is reserved once.
type RegisterUser struct {
	UserID       uuid.UUID
	Username     string // already normalized
	PasswordHash []byte
}

func (c RegisterUser) Streams() []string { return []string{AccountsStream, UserStream(c.UserID)} }
func (c RegisterUser) Keys() []string    { return []string{usernameKey(c.Username), anyAccountKey} }
func (c RegisterUser) Secret() Secret {
	return Secret{Kind: SecretPassword, UserID: c.UserID, Username: c.Username, Hash: c.PasswordHash}
}

func (c RegisterUser) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	if _, taken := s.UsernameOwner(c.Username); taken {
		return nil, Errorf(CodeConflict, "username: %q is taken", c.Username)
	}
	stream := UserStream(c.UserID)
	events := []NewEvent{{Stream: stream, ExpectedVersion: NoStream,
		Payload: &UserRegistered{UserID: c.UserID, Username: c.Username}}}
	if !s.AnyAccount() {
		events = append(events,
			event(stream, &UserApproved{UserID: c.UserID}),
			event(stream, &RoleGranted{UserID: c.UserID, Role: RoleAdmin}))
	}
	return events, nil
}

// CreateUser makes an account that is approved at once, with roles: an
// administrator's scripted set-up. A nil By is the operator's own tool.
type CreateUser struct {
	By           *uuid.UUID
	UserID       uuid.UUID
	Username     string
	PasswordHash []byte
	Roles        []string
}

func (c CreateUser) Streams() []string { return []string{AccountsStream, UserStream(c.UserID)} }
func (c CreateUser) Keys() []string {
	keys := []string{usernameKey(c.Username), anyAccountKey}
	if c.By != nil {
		keys = append(keys, userKey(*c.By))
	}
	return keys
}
func (c CreateUser) Secret() Secret {
	return Secret{Kind: SecretPassword, UserID: c.UserID, Username: c.Username, Hash: c.PasswordHash}
}

func (c CreateUser) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	if err := requireAdmin(s, c.By); err != nil {
		return nil, err
	}
	for _, r := range c.Roles {
		if err := ValidateRole(r); err != nil {
			return nil, err
		}
	}
	if _, taken := s.UsernameOwner(c.Username); taken {
		return nil, Errorf(CodeConflict, "username: %q is taken", c.Username)
	}
	stream := UserStream(c.UserID)
	events := []NewEvent{
		{Stream: stream, ExpectedVersion: NoStream, Payload: &UserRegistered{UserID: c.UserID, Username: c.Username}},
		event(stream, &UserApproved{UserID: c.UserID, By: c.By}),
	}
	for _, r := range c.Roles {
		events = append(events, event(stream, &RoleGranted{UserID: c.UserID, Role: r, By: c.By}))
	}
	return events, nil
}

// Transition is an administrator's decision on an account.
type Transition string

const (
	Approve    Transition = "approve"
	Reject     Transition = "reject"
	Deactivate Transition = "deactivate"
)

// ChangeStatus approves, rejects or deactivates an account. Approving and
// rejecting apply to pending accounts only; deactivating ends every session.
type ChangeStatus struct {
	By     *uuid.UUID // nil: the operator's own tool
	UserID uuid.UUID
	To     Transition
}

func (c ChangeStatus) Streams() []string { return []string{UserStream(c.UserID)} }
func (c ChangeStatus) Keys() []string {
	keys := []string{userKey(c.UserID), sessionsKey(c.UserID)}
	if c.By != nil {
		keys = append(keys, userKey(*c.By))
	}
	return keys
}

func (c ChangeStatus) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	if err := requireAdmin(s, c.By); err != nil {
		return nil, err
	}
	u, ok := s.User(c.UserID)
	if !ok {
		return nil, Errorf(CodeNotFound, "user not found")
	}
	stream := UserStream(c.UserID)
	switch c.To {
	case Approve, Reject:
		if u.Status != StatusPending {
			return nil, Errorf(CodeConflict, "user is %s, not pending", u.Status)
		}
		if c.To == Approve {
			return []NewEvent{event(stream, &UserApproved{UserID: u.ID, By: c.By})}, nil
		}
		return []NewEvent{event(stream, &UserRejected{UserID: u.ID, By: c.By})}, nil
	case Deactivate:
		if u.Status == StatusDeactivated {
			return nil, Errorf(CodeConflict, "user is already deactivated")
		}
		if c.By != nil && *c.By == u.ID {
			return nil, Errorf(CodeConflict, "administrators cannot deactivate themselves")
		}
		events := []NewEvent{event(stream, &UserDeactivated{UserID: u.ID, By: c.By})}
		for _, sid := range s.Sessions(u.ID) {
			events = append(events, event(stream, &SessionEnded{SessionID: sid, UserID: u.ID, Reason: "deactivated"}))
		}
		return events, nil
	}
	return nil, Errorf(CodeInvalid, "unknown transition %q", c.To)
}

// GrantRole gives a user a role; granting a role held already changes nothing.
type GrantRole struct {
	By     *uuid.UUID
	UserID uuid.UUID
	Role   string
}

func (c GrantRole) Streams() []string { return []string{UserStream(c.UserID)} }
func (c GrantRole) Keys() []string {
	keys := []string{userKey(c.UserID)}
	if c.By != nil {
		keys = append(keys, userKey(*c.By))
	}
	return keys
}

func (c GrantRole) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	if err := requireAdmin(s, c.By); err != nil {
		return nil, err
	}
	if err := ValidateRole(c.Role); err != nil {
		return nil, err
	}
	u, ok := s.User(c.UserID)
	if !ok {
		return nil, Errorf(CodeNotFound, "user not found")
	}
	if u.HasRole(c.Role) {
		return nil, nil
	}
	return []NewEvent{event(UserStream(u.ID), &RoleGranted{UserID: u.ID, Role: c.Role, By: c.By})}, nil
}

// StartSession logs a user in once their password was checked. Deciding it
// under the user's stream lock means an approval on any node is seen at once,
// and a login racing a deactivation cannot survive it.
type StartSession struct {
	UserID    uuid.UUID
	SessionID uuid.UUID
	TokenHash []byte
	ExpiresAt time.Time
}

func (c StartSession) Streams() []string { return []string{UserStream(c.UserID)} }
func (c StartSession) Keys() []string    { return []string{userKey(c.UserID), sessionsKey(c.UserID)} }
func (c StartSession) Secret() Secret {
	return Secret{Kind: SecretSession, UserID: c.UserID, SessionID: c.SessionID, Hash: c.TokenHash, ExpiresAt: c.ExpiresAt}
}

func (c StartSession) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	u, ok := s.User(c.UserID)
	if !ok {
		return nil, Errorf(CodeUnauthorized, "wrong username or password")
	}
	switch u.Status {
	case StatusPending:
		return nil, Errorf(CodePendingApproval, "an administrator has not approved this account yet")
	case StatusRejected, StatusDeactivated:
		return nil, Errorf(CodeRejected, "this account is %s", u.Status)
	}
	return []NewEvent{event(UserStream(u.ID), &SessionStarted{SessionID: c.SessionID, UserID: u.ID, ExpiresAt: c.ExpiresAt.UTC().Truncate(time.Millisecond)})}, nil
}

// EndSession logs a session out; ending an ended session changes nothing.
type EndSession struct {
	UserID    uuid.UUID
	SessionID uuid.UUID
	Reason    string
}

func (c EndSession) Streams() []string { return []string{UserStream(c.UserID)} }
func (c EndSession) Keys() []string    { return []string{sessionsKey(c.UserID)} }

func (c EndSession) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	for _, sid := range s.Sessions(c.UserID) {
		if sid == c.SessionID {
			return []NewEvent{event(UserStream(c.UserID), &SessionEnded{SessionID: sid, UserID: c.UserID, Reason: c.Reason})}, nil
		}
	}
	return nil, nil
}

// requireAdmin passes the operator's own tool (by == nil) and approved admins.
func requireAdmin(s *State, by *uuid.UUID) error {
	if by == nil {
		return nil
	}
	u, err := approvedActor(s, *by)
	if err != nil {
		return err
	}
	if !u.HasRole(RoleAdmin) {
		return Errorf(CodeForbidden, "administrators only")
	}
	return nil
}
