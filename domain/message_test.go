package domain_test

import (
	"testing"

	"github.com/chatlog/chat/domain"
)

// chatter is the world with two messages in the lobby (seq 4 and 5) and one
// in the den.
func chatter() []domain.Payload {
	return with(world(), []domain.Payload{posted("lobby", "m1", "alice"), posted("lobby", "m2", "bob"),
		posted("den", "m3", "alice")})
}

func post(by, roomName string) domain.PostMessage {
	return domain.PostMessage{By: id(by), RoomID: id(roomName), MessageID: id("m9"), ClientID: id("client m9"),
		Body: by + " says m9"}
}

func TestPostMessage(t *testing.T) {
	check(t, []rule{
		{name: "a member posts in a public room",
			given: world(),
			when:  post("bob", "lobby"),
			then:  []domain.Payload{posted("lobby", "m9", "bob")}},
		{name: "a member posts in a private room",
			given: world(),
			when:  post("alice", "den"),
			then:  []domain.Payload{posted("den", "m9", "alice")}},
		{name: "a member posts in a direct room",
			given: world(),
			when:  post("bob", "alice, bob"),
			then:  []domain.Payload{posted("alice, bob", "m9", "bob")}},
		{name: "a non-member of a public room is forbidden",
			given: world(),
			when:  post("carol", "lobby"),
			code:  domain.CodeForbidden},
		{name: "a private room of others is forbidden",
			given: world(),
			when:  post("carol", "den"),
			code:  domain.CodeForbidden},
		{name: "a direct room of others is forbidden",
			given: world(),
			when:  post("carol", "alice, bob"),
			code:  domain.CodeForbidden},
		{name: "one who left is forbidden",
			given: with(world(), []domain.Payload{left("lobby", "bob")}),
			when:  post("bob", "lobby"),
			code:  domain.CodeForbidden},
		{name: "an unknown room is not found",
			given: world(),
			when:  post("bob", "nowhere"),
			code:  domain.CodeNotFound},
		{name: "a deactivated member is forbidden",
			given: with(approved("dan"), room(domain.RoomPublic, "hall", "dan"),
				[]domain.Payload{&domain.UserDeactivated{UserID: id("dan")}}),
			when: post("dan", "hall"),
			code: domain.CodeForbidden},
		{name: "an unknown author is unauthorized",
			given: world(),
			when:  post("ghost", "lobby"),
			code:  domain.CodeUnauthorized},
	})
}

// A resend with the same client id must find the first message, so the key
// is the author and client id on the room stream, and it rides on the event.
func TestPostMessageIsIdempotentPerAuthorAndClientID(t *testing.T) {
	cmd := post("bob", "lobby")
	stream, key := cmd.IdempotencyKey()
	if stream != domain.RoomStream(id("lobby")) || key != id("bob").String()+":"+id("client m9").String() {
		t.Fatalf("IdempotencyKey() = %s, %s", stream, key)
	}
	other := cmd
	other.By = id("alice")
	if _, k := other.IdempotencyKey(); k == key {
		t.Fatal("two authors with one client id share an idempotency key")
	}
	events, err := when(given(t, world()...), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].IdempotencyKey != key || events[0].ExpectedVersion != domain.AnyVersion {
		t.Fatalf("events = %+v, want one with key %s and any version", events, key)
	}
}

func TestEditMessage(t *testing.T) {
	edit := func(by, roomName, msg string) domain.EditMessage {
		return domain.EditMessage{By: id(by), RoomID: id(roomName), MessageID: id(msg), Body: "fixed"}
	}
	check(t, []rule{
		{name: "the author edits",
			given: chatter(),
			when:  edit("bob", "lobby", "m2"),
			then:  []domain.Payload{&domain.MessageEdited{RoomID: id("lobby"), MessageID: id("m2"), Body: "fixed"}}},
		{name: "another member may not edit",
			given: chatter(),
			when:  edit("alice", "lobby", "m2"),
			code:  domain.CodeForbidden},
		{name: "an admin may not edit another's message",
			given: with(chatter(), []domain.Payload{joined("lobby", "root")}),
			when:  edit("root", "lobby", "m2"),
			code:  domain.CodeForbidden},
		{name: "an unknown message is not found",
			given: chatter(),
			when:  edit("bob", "lobby", "m7"),
			code:  domain.CodeNotFound},
		{name: "a message of another room is not found",
			given: chatter(),
			when:  edit("alice", "lobby", "m3"),
			code:  domain.CodeNotFound},
		{name: "a deleted message is not found",
			given: with(chatter(), []domain.Payload{&domain.MessageDeleted{RoomID: id("lobby"), MessageID: id("m2")}}),
			when:  edit("bob", "lobby", "m2"),
			code:  domain.CodeNotFound},
		{name: "an author who left may not edit",
			given: with(chatter(), []domain.Payload{left("lobby", "bob")}),
			when:  edit("bob", "lobby", "m2"),
			code:  domain.CodeForbidden},
	})
}

func TestDeleteMessage(t *testing.T) {
	del := func(by, roomName, msg string) domain.DeleteMessage {
		return domain.DeleteMessage{By: id(by), RoomID: id(roomName), MessageID: id(msg)}
	}
	deleted := func(roomName, msg string) []domain.Payload {
		return []domain.Payload{&domain.MessageDeleted{RoomID: id(roomName), MessageID: id(msg)}}
	}
	check(t, []rule{
		{name: "the author deletes",
			given: chatter(),
			when:  del("bob", "lobby", "m2"),
			then:  deleted("lobby", "m2")},
		{name: "an admin member deletes another's message",
			given: with(chatter(), []domain.Payload{joined("lobby", "root")}),
			when:  del("root", "lobby", "m2"),
			then:  deleted("lobby", "m2")},
		{name: "another member may not delete",
			given: chatter(),
			when:  del("alice", "lobby", "m2"),
			code:  domain.CodeForbidden},
		{name: "an admin outside a private room may not delete",
			given: chatter(),
			when:  del("root", "den", "m3"),
			code:  domain.CodeForbidden},
		{name: "a deleted message is not found",
			given: with(chatter(), deleted("lobby", "m2")),
			when:  del("bob", "lobby", "m2"),
			code:  domain.CodeNotFound},
		{name: "an unknown message is not found",
			given: chatter(),
			when:  del("bob", "lobby", "m7"),
			code:  domain.CodeNotFound},
	})
}

func TestMoveReadMarker(t *testing.T) {
	read := func(by string, seq int64) domain.MoveReadMarker {
		return domain.MoveReadMarker{By: id(by), RoomID: id("lobby"), Seq: seq}
	}
	moved := func(by string, seq int64) []domain.Payload {
		return []domain.Payload{&domain.ReadMarkerMoved{UserID: id(by), Username: by, RoomID: id("lobby"), Seq: seq}}
	}
	check(t, []rule{
		{name: "a member marks a seq read",
			given: chatter(),
			when:  read("bob", 4),
			then:  moved("bob", 4)},
		{name: "a seq past the head is clamped to the head",
			given: chatter(),
			when:  read("bob", 99),
			then:  moved("bob", 5)},
		{name: "a lower seq changes nothing",
			given: with(chatter(), moved("bob", 4)),
			when:  read("bob", 3)},
		{name: "the same seq changes nothing",
			given: with(chatter(), moved("bob", 4)),
			when:  read("bob", 4)},
		{name: "a higher seq moves on",
			given: with(chatter(), moved("bob", 4)),
			when:  read("bob", 5),
			then:  moved("bob", 5)},
		{name: "at the head, a higher seq changes nothing",
			given: with(chatter(), moved("bob", 5)),
			when:  read("bob", 6)},
		{name: "another member's marker is their own",
			given: with(chatter(), moved("bob", 5)),
			when:  read("alice", 5),
			then:  moved("alice", 5)},
		{name: "seq zero changes nothing",
			given: chatter(),
			when:  read("bob", 0)},
		{name: "a negative seq is invalid",
			given: chatter(),
			when:  read("bob", -1),
			code:  domain.CodeInvalid},
		{name: "a non-member is forbidden",
			given: chatter(),
			when:  read("carol", 4),
			code:  domain.CodeForbidden},
	})
}
