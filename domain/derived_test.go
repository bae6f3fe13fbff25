package domain

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestParseMessageKey(t *testing.T) {
	room, msg := uuid.New(), uuid.New()
	got, ok := ParseMessageKey(messageKey(room, msg))
	if !ok || got != msg {
		t.Fatalf("ParseMessageKey(messageKey) = %v, %v; want %v, true", got, ok, msg)
	}
	for _, key := range []string{
		userKey(msg), roomKey(room), memberKey(room, msg), readKey(room, msg),
		"msg:", "msg:" + room.String() + "-" + msg.String(), "msg:" + room.String() + ":" + msg.String() + "x",
		"msg:" + "not-a-uuid-not-a-uuid-not-a-uuid-xx" + ":" + msg.String(),
	} {
		if _, ok := ParseMessageKey(key); ok {
			t.Errorf("ParseMessageKey(%q) accepted a key that is not a message's", key)
		}
	}
}

// TestFoldStateMatchesEvolve: a message's state folded from its own events
// is byte for byte what the store's running state holds, so a store may
// derive it instead of keeping it.
func TestFoldStateMatchesEvolve(t *testing.T) {
	room, other, msg, author := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	posted := &MessagePosted{RoomID: room, MessageID: msg, ClientID: uuid.New(), Author: UserRef{ID: author, Username: "a"}, Body: "hi"}
	elsewhere := &MessagePosted{RoomID: other, MessageID: msg, ClientID: uuid.New(), Author: UserRef{ID: uuid.New(), Username: "b"}, Body: "hi"}
	deleted := &MessageDeleted{RoomID: room, MessageID: msg}
	strayDelete := &MessageDeleted{RoomID: room, MessageID: uuid.New()}
	key := messageKey(room, msg)
	cases := map[string][]Payload{
		"posted":                {posted},
		"posted then deleted":   {posted, deleted},
		"deleted before posted": {deleted, posted},
		"same id in two rooms":  {elsewhere, posted, strayDelete},
		"never posted":          {deleted},
	}
	for name, payloads := range cases {
		t.Run(name, func(t *testing.T) {
			running := NewState(nil, nil)
			events := make([]Event, len(payloads))
			for i, p := range payloads {
				Evolve(running, p)
				data, err := json.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				events[i] = Event{Type: p.EventType(), Data: data, RecordedAt: time.Now()}
			}
			folded, err := FoldState(events, []string{key})
			if err != nil {
				t.Fatal(err)
			}
			want, has := running.values[key]
			got, found := folded[key]
			if found != (has && want != nil) || string(got) != string(want) {
				t.Fatalf("folded %s = %q (found %v), running state holds %q", key, got, found, want)
			}
		})
	}
}

func TestFoldStateRejectsCorruptEvents(t *testing.T) {
	_, err := FoldState([]Event{{Type: "MessagePosted", Data: json.RawMessage(`{"id":`)}}, nil)
	if err == nil {
		t.Fatal("FoldState accepted undecodable data")
	}
}

func TestMessageStateEventsAreTheMessageFold(t *testing.T) {
	want := map[string]bool{"MessagePosted": true, "MessageDeleted": true}
	if len(MessageStateEvents) != len(want) {
		t.Fatalf("MessageStateEvents = %v", MessageStateEvents)
	}
	for _, typ := range MessageStateEvents {
		if !want[typ] {
			t.Fatalf("MessageStateEvents holds %q", typ)
		}
	}
}
