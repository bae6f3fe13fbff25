package domain_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/chatlog/chat/domain"
)

func TestCreateRoom(t *testing.T) {
	check(t, []rule{
		{name: "the creator of a public room is its first member",
			given: world(),
			when:  domain.CreateRoom{By: id("carol"), RoomID: id("garden"), Name: "garden", Kind: domain.RoomPublic},
			then:  room(domain.RoomPublic, "garden", "carol")},
		{name: "the creator of a private room is its first member",
			given: world(),
			when:  domain.CreateRoom{By: id("carol"), RoomID: id("attic"), Name: "attic", Kind: domain.RoomPrivate},
			then:  room(domain.RoomPrivate, "attic", "carol")},
		{name: "a direct room is not created by hand",
			given: world(),
			when:  domain.CreateRoom{By: id("carol"), RoomID: id("x"), Name: "x", Kind: domain.RoomDirect},
			code:  domain.CodeInvalid},
		{name: "an unknown kind is invalid",
			given: world(),
			when:  domain.CreateRoom{By: id("carol"), RoomID: id("x"), Name: "x", Kind: "secret"},
			code:  domain.CodeInvalid},
		{name: "a pending user cannot create rooms",
			given: world(),
			when:  domain.CreateRoom{By: id("pat"), RoomID: id("x"), Name: "x", Kind: domain.RoomPublic},
			code:  domain.CodeForbidden},
		{name: "an unknown user is unauthorized",
			given: world(),
			when:  domain.CreateRoom{By: id("ghost"), RoomID: id("x"), Name: "x", Kind: domain.RoomPublic},
			code:  domain.CodeUnauthorized},
	})
}

func TestJoinRoom(t *testing.T) {
	check(t, []rule{
		{name: "anyone approved joins a public room",
			given: world(),
			when:  domain.JoinRoom{By: id("carol"), RoomID: id("lobby")},
			then:  []domain.Payload{joined("lobby", "carol")}},
		{name: "joining twice changes nothing",
			given: world(),
			when:  domain.JoinRoom{By: id("bob"), RoomID: id("lobby")}},
		{name: "a private room cannot be joined",
			given: world(),
			when:  domain.JoinRoom{By: id("carol"), RoomID: id("den")},
			code:  domain.CodeForbidden},
		{name: "a direct room cannot be joined",
			given: world(),
			when:  domain.JoinRoom{By: id("carol"), RoomID: id("alice, bob")},
			code:  domain.CodeForbidden},
		{name: "an unknown room is not found",
			given: world(),
			when:  domain.JoinRoom{By: id("carol"), RoomID: id("nowhere")},
			code:  domain.CodeNotFound},
		{name: "a pending user cannot join",
			given: world(),
			when:  domain.JoinRoom{By: id("pat"), RoomID: id("lobby")},
			code:  domain.CodeForbidden},
		{name: "one who left may join again",
			given: with(world(), []domain.Payload{left("lobby", "bob")}),
			when:  domain.JoinRoom{By: id("bob"), RoomID: id("lobby")},
			then:  []domain.Payload{joined("lobby", "bob")}},
	})
}

func TestLeaveRoom(t *testing.T) {
	check(t, []rule{
		{name: "a member leaves a public room",
			given: world(),
			when:  domain.LeaveRoom{By: id("bob"), RoomID: id("lobby")},
			then:  []domain.Payload{left("lobby", "bob")}},
		{name: "a member leaves a private room",
			given: world(),
			when:  domain.LeaveRoom{By: id("alice"), RoomID: id("den")},
			then:  []domain.Payload{left("den", "alice")}},
		{name: "leaving a public room one is not in changes nothing",
			given: world(),
			when:  domain.LeaveRoom{By: id("carol"), RoomID: id("lobby")}},
		{name: "leaving twice changes nothing",
			given: with(world(), []domain.Payload{left("lobby", "bob")}),
			when:  domain.LeaveRoom{By: id("bob"), RoomID: id("lobby")}},
		{name: "a private room of others is forbidden",
			given: world(),
			when:  domain.LeaveRoom{By: id("carol"), RoomID: id("den")},
			code:  domain.CodeForbidden},
		{name: "a direct room cannot be left",
			given: world(),
			when:  domain.LeaveRoom{By: id("alice"), RoomID: id("alice, bob")},
			code:  domain.CodeForbidden},
		{name: "an unknown room is not found",
			given: world(),
			when:  domain.LeaveRoom{By: id("bob"), RoomID: id("nowhere")},
			code:  domain.CodeNotFound},
	})
}

func TestAddMember(t *testing.T) {
	check(t, []rule{
		{name: "a member adds an approved user to a private room",
			given: world(),
			when:  domain.AddMember{By: id("alice"), RoomID: id("den"), UserID: id("carol")},
			then:  []domain.Payload{joined("den", "carol")}},
		{name: "adding a member twice changes nothing",
			given: with(world(), []domain.Payload{joined("den", "carol")}),
			when:  domain.AddMember{By: id("alice"), RoomID: id("den"), UserID: id("carol")}},
		{name: "a non-member cannot add anyone",
			given: world(),
			when:  domain.AddMember{By: id("carol"), RoomID: id("den"), UserID: id("carol")},
			code:  domain.CodeForbidden},
		{name: "a former member cannot add anyone",
			given: with(world(), []domain.Payload{left("den", "alice")}),
			when:  domain.AddMember{By: id("alice"), RoomID: id("den"), UserID: id("bob")},
			code:  domain.CodeForbidden},
		{name: "a pending target is not found",
			given: world(),
			when:  domain.AddMember{By: id("alice"), RoomID: id("den"), UserID: id("pat")},
			code:  domain.CodeNotFound},
		{name: "a deactivated target is not found",
			given: world(),
			when:  domain.AddMember{By: id("alice"), RoomID: id("den"), UserID: id("dee")},
			code:  domain.CodeNotFound},
		{name: "an unknown target is not found",
			given: world(),
			when:  domain.AddMember{By: id("alice"), RoomID: id("den"), UserID: id("ghost")},
			code:  domain.CodeNotFound},
		{name: "a direct room keeps its two members",
			given: world(),
			when:  domain.AddMember{By: id("alice"), RoomID: id("alice, bob"), UserID: id("carol")},
			code:  domain.CodeForbidden},
		{name: "an unknown room is not found",
			given: world(),
			when:  domain.AddMember{By: id("alice"), RoomID: id("nowhere"), UserID: id("carol")},
			code:  domain.CodeNotFound},
	})
}

func TestOpenDirect(t *testing.T) {
	check(t, []rule{
		{name: "the first call creates the pair's room with both as members",
			given: world(),
			when:  domain.OpenDirect{By: id("alice"), With: id("carol"), NewRoomID: id("alice, carol")},
			then:  direct("alice", "carol")},
		{name: "a second call from the same side returns nothing new",
			given: world(),
			when:  domain.OpenDirect{By: id("alice"), With: id("bob"), NewRoomID: id("another")}},
		{name: "a second call from the other side returns nothing new",
			given: world(),
			when:  domain.OpenDirect{By: id("bob"), With: id("alice"), NewRoomID: id("another")}},
		{name: "a user's room with themselves has one member",
			given: world(),
			when:  domain.OpenDirect{By: id("carol"), With: id("carol"), NewRoomID: id("carol, carol")},
			then: []domain.Payload{
				&domain.RoomCreated{RoomID: id("carol, carol"), Name: "carol, carol", Kind: domain.RoomDirect,
					Direct: []uuid.UUID{id("carol"), id("carol")}},
				joined("carol, carol", "carol")}},
		{name: "a pending partner is not found",
			given: world(),
			when:  domain.OpenDirect{By: id("alice"), With: id("pat"), NewRoomID: id("x")},
			code:  domain.CodeNotFound},
		{name: "an unknown partner is not found",
			given: world(),
			when:  domain.OpenDirect{By: id("alice"), With: id("ghost"), NewRoomID: id("x")},
			code:  domain.CodeNotFound},
		{name: "a pending caller is forbidden",
			given: world(),
			when:  domain.OpenDirect{By: id("pat"), With: id("alice"), NewRoomID: id("x")},
			code:  domain.CodeForbidden},
	})
}

// Both sides of a pair lock the same stream, so two first calls are ordered
// and the second finds the room the first created.
func TestDirectStreamIsSymmetric(t *testing.T) {
	a, b := id("alice"), id("bob")
	if domain.DirectStream(a, b) != domain.DirectStream(b, a) {
		t.Fatalf("DirectStream(a, b) = %s, DirectStream(b, a) = %s", domain.DirectStream(a, b), domain.DirectStream(b, a))
	}
	if domain.DirectStream(a, b) == domain.DirectStream(a, id("carol")) {
		t.Fatal("two pairs share a lock stream")
	}
	s := given(t, direct("alice", "bob")...)
	for _, pair := range [][2]uuid.UUID{{a, b}, {b, a}} {
		if got, ok := s.DirectRoom(pair[0], pair[1]); !ok || got != id("alice, bob") {
			t.Errorf("DirectRoom(%v) = %v, %v", pair, got, ok)
		}
	}
}

// A room's first event demands an empty stream, so a reused room id fails
// the store's version check instead of writing into another room.
func TestFirstEventsDemandAnEmptyStream(t *testing.T) {
	cases := []struct {
		name string
		cmd  domain.Command
	}{
		{"create room", domain.CreateRoom{By: id("carol"), RoomID: id("lobby"), Name: "again", Kind: domain.RoomPublic}},
		{"open direct", domain.OpenDirect{By: id("carol"), With: id("alice"), NewRoomID: id("lobby")}},
		{"register", domain.RegisterUser{UserID: id("alice"), Username: "alice-again"}},
		{"create user", domain.CreateUser{UserID: id("alice"), Username: "alice-again"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := given(t, world()...)
			events, err := when(s, c.cmd)
			if err != nil {
				t.Fatalf("decide: %v", err)
			}
			if events[0].ExpectedVersion != domain.NoStream {
				t.Fatalf("first event expects version %d, want NoStream", events[0].ExpectedVersion)
			}
			_, err = domain.Append{Events: events}.Decide(s, now)
			if code := domain.ErrorCode(err); code != domain.CodeConflict {
				t.Fatalf("appending onto an existing stream: code %q (%v), want conflict", code, err)
			}
		})
	}
}
