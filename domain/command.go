package domain

import (
	"time"

	"github.com/google/uuid"
)

// Command is a request to change the chat. The store runs it as:
//
//	lock Streams() → load Keys() → Decide → append → Evolve → write state
//
// inside one transaction, so a decision and the events it produces cannot
// race another command on the same streams.
type Command interface {
	// Streams names the streams whose heads are locked before deciding.
	// Every event Decide returns must be on one of them.
	Streams() []string
	// Keys names the inline state the decision reads.
	Keys() []string
	// Decide returns the events to append, or a *Error. It must be pure:
	// no I/O, and time and ids come from its arguments and fields.
	Decide(s *State, now time.Time) ([]NewEvent, error)
}

// Idempotent is a command that must take effect once per key: a repeat
// returns the events recorded the first time instead of deciding again.
type Idempotent interface {
	IdempotencyKey() (stream, key string)
}

// SecretKind says which private table a Secret belongs in.
type SecretKind int

const (
	SecretPassword SecretKind = iota + 1
	SecretSession
)

// Secret is written beside a command's events in the same transaction but
// never into the log: a password hash, or a session token's hash.
type Secret struct {
	Kind      SecretKind
	UserID    uuid.UUID
	Username  string    // SecretPassword only: log-in looks the hash up by name
	SessionID uuid.UUID // SecretSession only
	Hash      []byte
	ExpiresAt time.Time // SecretSession only
}

// WithSecret is a command that stores a secret when its events are appended.
type WithSecret interface {
	Secret() Secret
}

// Append appends raw events without a decision: the low-level port used by
// operator tools, presence, seals and the store's contract tests.
type Append struct {
	Events []NewEvent
}

func (a Append) Streams() []string {
	var names []string
	for _, e := range a.Events {
		names = append(names, e.Stream)
	}
	return names
}

func (Append) Keys() []string { return nil }

// Decide checks each event's expected version against the locked heads.
func (a Append) Decide(s *State, _ time.Time) ([]NewEvent, error) {
	next := map[string]int64{}
	for _, e := range a.Events {
		head, seen := next[e.Stream]
		if !seen {
			head = s.Head(e.Stream)
		}
		if e.ExpectedVersion != AnyVersion && e.ExpectedVersion != head {
			return nil, Errorf(CodeConflict, "stream %s is at version %d, expected %d", e.Stream, head, e.ExpectedVersion)
		}
		next[e.Stream] = head + 1
	}
	return a.Events, nil
}

// event builds a NewEvent that needs no version check: the stream lock
// already orders it after the state the decision read.
func event(stream string, p Payload) NewEvent {
	return NewEvent{Stream: stream, ExpectedVersion: AnyVersion, Payload: p}
}

// approvedActor loads the acting user and checks that they may act at all.
func approvedActor(s *State, id uuid.UUID) (UserState, error) {
	u, ok := s.User(id)
	if !ok {
		return u, Errorf(CodeUnauthorized, "unknown user")
	}
	if u.Status != StatusApproved {
		return u, Errorf(CodeForbidden, "account is %s", u.Status)
	}
	return u, nil
}
