package domain_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
)

// samples holds one payload of every catalogue type with every field set.
func samples() []domain.Payload {
	by := ptr(id("root"))
	return []domain.Payload{
		registered("alice"),
		&domain.UserApproved{UserID: id("alice"), By: by},
		&domain.UserRejected{UserID: id("alice"), By: by},
		&domain.UserDeactivated{UserID: id("alice"), By: by},
		&domain.RoleGranted{UserID: id("alice"), Role: domain.RoleAuditor, By: by},
		&domain.SessionStarted{SessionID: id("s1"), UserID: id("alice"), ExpiresAt: time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC)},
		&domain.SessionEnded{SessionID: id("s1"), UserID: id("alice"), Reason: "logout"},
		direct("alice", "bob")[0],
		joined("lobby", "alice"),
		left("lobby", "alice"),
		posted("lobby", "m1", "alice"),
		&domain.MessageEdited{RoomID: id("lobby"), MessageID: id("m1"), Body: "é ✓ 🙂"},
		&domain.MessageDeleted{RoomID: id("lobby"), MessageID: id("m1")},
		&domain.ReadMarkerMoved{UserID: id("alice"), Username: "alice", RoomID: id("lobby"), Seq: 42},
		&domain.UserConnected{UserID: id("alice"), Username: "alice", SessionID: id("s1"), Node: "n1"},
		&domain.UserDisconnected{UserID: id("alice"), Username: "alice", SessionID: id("s1"), Node: "n1"},
		&domain.NodeStarted{Node: "n1"},
		&domain.NodeStopped{Node: "n1", Reason: "shutdown"},
		&domain.LogSealed{Streams: 12, TreeHash: strings.Repeat("ab", 32)},
	}
}

func TestEveryEventRoundTrips(t *testing.T) {
	covered := map[string]bool{}
	for i, p := range samples() {
		covered[p.EventType()] = true
		t.Run(p.EventType(), func(t *testing.T) {
			if !domain.KnownEventType(p.EventType()) {
				t.Fatalf("%s is not in the catalogue", p.EventType())
			}
			data, err := domain.EncodePayload(p)
			if err != nil {
				t.Fatal(err)
			}
			e := domain.Event{Position: int64(i), Stream: "s", Version: 1, Type: p.EventType(), Data: data}
			got, err := e.Decode()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Fatalf("decoded %#v, want %#v", got, p)
			}
			again, err := domain.EncodePayload(got)
			if err != nil || string(again) != string(data) {
				t.Fatalf("re-encoded %s (%v), want the same bytes %s", again, err, data)
			}
		})
	}
	for _, typ := range domain.EventTypes() {
		if !covered[typ] {
			t.Errorf("no round-trip sample for %s", typ)
		}
	}
}

func TestOptionalFieldsStayOptional(t *testing.T) {
	data, err := domain.EncodePayload(&domain.UserApproved{UserID: id("alice")})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"user_id":"%s","by":null}`, id("alice"))
	if string(data) != want {
		t.Errorf("system approval = %s, want %s", data, want)
	}
	data, err = domain.EncodePayload(&domain.RoomCreated{RoomID: id("lobby"), Name: "lobby", Kind: domain.RoomPublic})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "direct") {
		t.Errorf("a public room names direct members: %s", data)
	}
}

func TestDecodeErrorsNamePosition(t *testing.T) {
	cases := []struct {
		name string
		e    domain.Event
		want []string
	}{
		{"unknown type", domain.Event{Position: 4711, Stream: "room-x", Version: 3, Type: "MessagePostedV9", Data: []byte(`{}`)},
			[]string{"position 4711", "room-x v3", "MessagePostedV9"}},
		{"corrupt payload", domain.Event{Position: 815, Stream: "user-y", Version: 2, Type: "UserApproved", Data: []byte(`{"user_id":`)},
			[]string{"position 815", "user-y v2", "UserApproved"}},
		{"wrong field type", domain.Event{Position: 9, Stream: "room-z", Version: 1, Type: "ReadMarkerMoved", Data: []byte(`{"seq":"high"}`)},
			[]string{"position 9", "ReadMarkerMoved"}},
		{"bad uuid", domain.Event{Position: 10, Stream: "room-z", Version: 1, Type: "MessageDeleted", Data: []byte(`{"id":"nope"}`)},
			[]string{"position 10", "MessageDeleted"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.e.Decode()
			if err == nil {
				t.Fatalf("Decode() = %#v, want an error", p)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if domain.ErrorCode(err) != domain.CodeInternal {
				t.Errorf("a corrupt log is internal, got code %q", domain.ErrorCode(err))
			}
		})
	}
}

func TestProtocolKind(t *testing.T) {
	want := map[string]string{
		"RoomCreated": "room_created", "MemberJoined": "member_joined", "MemberLeft": "member_left",
		"MessagePosted": "message_posted", "MessageEdited": "message_edited", "MessageDeleted": "message_deleted",
	}
	for _, typ := range domain.EventTypes() {
		if got := domain.ProtocolKind(typ); got != want[typ] {
			t.Errorf("ProtocolKind(%s) = %q, want %q", typ, got, want[typ])
		}
	}
	if got := domain.ProtocolKind("Nonsense"); got != "" {
		t.Errorf("ProtocolKind(Nonsense) = %q", got)
	}
}

func TestStreamNames(t *testing.T) {
	room := id("lobby")
	if got, ok := domain.RoomIDFromStream(domain.RoomStream(room)); !ok || got != room {
		t.Errorf("RoomIDFromStream(RoomStream) = %v, %v", got, ok)
	}
	for _, s := range []string{domain.UserStream(room), "room-", "room-" + room.String() + "x",
		"room-" + strings.Repeat("z", 36), "rooms" + room.String(), domain.AccountsStream} {
		if got, ok := domain.RoomIDFromStream(s); ok {
			t.Errorf("RoomIDFromStream(%q) = %v, want no room", s, got)
		}
	}
	names := map[string]bool{}
	for _, s := range []string{domain.UserStream(room), domain.RoomStream(room), domain.NodeStream("n"),
		domain.UsernameStream("n"), domain.AccountsStream, domain.SealStream, domain.DirectStream(room, room)} {
		if names[s] {
			t.Errorf("stream name %q used twice", s)
		}
		names[s] = true
	}
}

func TestMetadataActor(t *testing.T) {
	m, err := domain.DecodeMetadata(json.RawMessage(fmt.Sprintf(`{"actor_id":"%s","actor_name":"alice","node":"n1"}`, id("alice"))))
	if err != nil {
		t.Fatal(err)
	}
	if a := m.Actor(); a == nil || *a != ref("alice") || m.Node != "n1" {
		t.Errorf("Actor() = %v, node %q", a, m.Node)
	}
	empty, err := domain.DecodeMetadata(nil)
	if err != nil || empty.Actor() != nil {
		t.Errorf("empty metadata: %+v, %v; want no actor", empty, err)
	}
	if _, err := domain.DecodeMetadata(json.RawMessage(`{"actor_id":`)); err == nil {
		t.Error("corrupt metadata decoded")
	}
	if a := (domain.Metadata{ActorID: "system"}).Actor(); a != nil {
		t.Errorf("a non-uuid actor is %v, want nil", a)
	}
}

func TestErrors(t *testing.T) {
	derr := domain.Errorf(domain.CodeNotFound, "room %s not found", "x")
	wrapped := fmt.Errorf("join: %w", derr)
	cases := []struct {
		err  error
		code domain.Code
		msg  string
	}{
		{nil, "", ""},
		{derr, domain.CodeNotFound, "room x not found"},
		{wrapped, domain.CodeNotFound, "room x not found"},
		{errors.New("pq: connection refused"), domain.CodeInternal, "internal error"},
	}
	for _, c := range cases {
		if got := domain.ErrorCode(c.err); got != c.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", c.err, got, c.code)
		}
		if c.err != nil {
			if got := domain.ErrorMessage(c.err); got != c.msg {
				t.Errorf("ErrorMessage(%v) = %q, want %q", c.err, got, c.msg)
			}
		}
	}
	if got := derr.Error(); got != "not_found: room x not found" {
		t.Errorf("Error() = %q", got)
	}
}
