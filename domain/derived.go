package domain

import (
	"fmt"

	"github.com/google/uuid"
)

// A message's state (its author, whether it was deleted) is the one kind of
// inline state a store need not keep: it is a fold of the message's own
// events, and there is one key per message ever posted, so keeping it costs
// a row written with every message. A store that can find a message's
// events by its id (the "id" field of their data) may derive the value when
// a command loads the key, and skip the key when saving.

// MessageStateEvents are the event types whose fold is a message's state;
// their data carries the message id as "id".
var MessageStateEvents = []string{MessagePosted{}.EventType(), MessageDeleted{}.EventType()}

// ParseMessageKey returns the message id of a message state key (as loaded
// by EditMessage and DeleteMessage and written by Evolve).
func ParseMessageKey(key string) (msg uuid.UUID, ok bool) {
	const prefix = "msg:"
	// msg:<room>:<message>
	if len(key) != len(prefix)+36+1+36 || key[:len(prefix)] != prefix || key[len(prefix)+36] != ':' {
		return uuid.Nil, false
	}
	if _, err := uuid.Parse(key[len(prefix) : len(prefix)+36]); err != nil {
		return uuid.Nil, false
	}
	msg, err := uuid.Parse(key[len(prefix)+37:])
	return msg, err == nil
}

// FoldState folds events, in log order, into an empty state as the store
// would have when appending them, and returns the values the keys hold
// afterwards (absent keys are left out). Fed every MessageStateEvents event
// of a message, it yields exactly the message's state.
func FoldState(events []Event, keys []string) (map[string][]byte, error) {
	s := NewState(nil, nil)
	for i := range events {
		p, err := events[i].Decode()
		if err != nil {
			return nil, fmt.Errorf("fold state: %w", err)
		}
		Evolve(s, p)
	}
	values := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if v := s.values[k]; v != nil {
			values[k] = v
		}
	}
	return values, nil
}
