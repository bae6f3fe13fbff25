package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// apiCheckRoom fails unless room is a Room of PROTOCOL.md with these
// name, kind, member count and membership.
func apiCheckRoom(t *testing.T, room map[string]any, name, kind string, members int, member bool) {
	t.Helper()
	for _, k := range []string{"id", "name", "kind", "members", "member", "head", "last_read", "unread", "created_at"} {
		if _, ok := room[k]; !ok {
			t.Errorf("room %v lacks %q", room, k)
		}
	}
	if len(room) != 9 || !wireID.MatchString(room["id"].(string)) || !wireTime.MatchString(room["created_at"].(string)) {
		t.Errorf("room %v: want exactly PROTOCOL.md's fields, a UUIDv7 id and a wire time", room)
	}
	if (name != "" && room["name"] != name) || room["kind"] != kind || room["members"] != float64(members) || room["member"] != member {
		t.Errorf("room = %v, want %q %s with %d members, member %v", room, name, kind, members, member)
	}
}

func (n *node) room(token, name, kind string) map[string]any {
	n.t.Helper()
	r := n.must(http.StatusCreated, "POST", "/api/rooms", token, map[string]string{"name": name, "kind": kind})
	return apiObject(n.t, r, "room")
}

// TestAPIRooms covers the rooms endpoints and PROTOCOL.md's visibility
// rules: unknown → 404, others' private rooms → 403, public readable.
func TestAPIRooms(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		bobID, bob := n.user(admin, "bob")
		carolID, carol := n.user(admin, "carol")
		pub := n.room(admin, "  lobby  ", "public")
		apiCheckRoom(t, pub, "lobby", "public", 1, true)
		if pub["head"] != float64(2) || pub["unread"] != float64(0) {
			t.Errorf("a new room: head %v unread %v, want 2 (room_created, member_joined) and 0", pub["head"], pub["unread"])
		}
		priv := n.room(bob, "secret", "private")
		pubID, privID := pub["id"].(string), priv["id"].(string)

		apiCheckRoom(t, apiObject(t, n.must(http.StatusOK, "GET", "/api/rooms/"+pubID, carol, nil), "room"), "lobby", "public", 1, false)
		if got := apiNames(apiList(t, n.must(http.StatusOK, "GET", "/api/rooms", carol, nil), "rooms")); !slices.Equal(got, []string{"lobby"}) {
			t.Errorf("carol's rooms %v, want the public lobby only", got)
		}
		if got := apiNames(apiList(t, n.must(http.StatusOK, "GET", "/api/rooms", bob, nil), "rooms")); !slices.Equal(got, []string{"lobby", "secret"}) {
			t.Errorf("bob's rooms %v, want lobby and his secret", got)
		}
		apiCheckRoom(t, apiObject(t, n.must(http.StatusOK, "POST", "/api/rooms/"+pubID+"/join", carol, nil), "room"), "lobby", "public", 2, true)
		apiCheckRoom(t, apiObject(t, n.must(http.StatusOK, "POST", "/api/rooms/"+pubID+"/join", carol, nil), "room"), "lobby", "public", 2, true)
		apiCheckRoom(t, apiObject(t, n.must(http.StatusOK, "POST", "/api/rooms/"+pubID+"/leave", carol, nil), "room"), "lobby", "public", 1, false)

		unknown := uuid.NewString()
		apiRefusesAll(t, n, []badCase{
			{"private room of others", "GET", "/api/rooms/" + privID, carol, nil, 403, "forbidden", ""},
			{"members of others' private room", "GET", "/api/rooms/" + privID + "/members", carol, nil, 403, "forbidden", ""},
			{"join a private room", "POST", "/api/rooms/" + privID + "/join", carol, nil, 403, "forbidden", ""},
			{"add to others' private room", "POST", "/api/rooms/" + privID + "/members", carol, map[string]string{"user": carolID}, 403, "forbidden", ""},
			{"unknown room", "GET", "/api/rooms/" + unknown, carol, nil, 404, "not_found", ""},
			{"not an id", "GET", "/api/rooms/lobby", carol, nil, 404, "not_found", ""},
			{"join an unknown room", "POST", "/api/rooms/" + unknown + "/join", carol, nil, 404, "not_found", ""},
			{"leave an unknown room", "POST", "/api/rooms/" + unknown + "/leave", carol, nil, 404, "not_found", ""},
			{"add an unknown user", "POST", "/api/rooms/" + privID + "/members", bob, map[string]string{"user": unknown}, 404, "not_found", ""},
			{"add a non-id", "POST", "/api/rooms/" + privID + "/members", bob, map[string]string{"user": "carol"}, 400, "bad_request", "user"},
			{"add nobody", "POST", "/api/rooms/" + privID + "/members", bob, `{}`, 400, "bad_request", "user"},
			{"add with a wrong type", "POST", "/api/rooms/" + privID + "/members", bob, `{"user":7}`, 400, "bad_request", "user"},
			{"room without a name", "POST", "/api/rooms", bob, `{"kind":"public"}`, 400, "bad_request", "name"},
			{"room with a blank name", "POST", "/api/rooms", bob, `{"name":"   ","kind":"public"}`, 400, "bad_request", "name"},
			{"room name of 65", "POST", "/api/rooms", bob, map[string]string{"name": strings.Repeat("x", 65), "kind": "public"}, 400, "bad_request", "name"},
			{"room without a kind", "POST", "/api/rooms", bob, `{"name":"x"}`, 400, "bad_request", "kind"},
			{"direct room by POST", "POST", "/api/rooms", bob, `{"name":"x","kind":"direct"}`, 400, "bad_request", "kind"},
			{"room kind a number", "POST", "/api/rooms", bob, `{"name":"x","kind":1}`, 400, "bad_request", "kind"},
			{"room with an extra field", "POST", "/api/rooms", bob, `{"name":"x","kind":"public","topic":"y"}`, 400, "bad_request", "topic"},
		})
		n.room(bob, strings.Repeat("é", 64), "public") // 64 characters are fine

		added := n.must(http.StatusOK, "POST", "/api/rooms/"+privID+"/members", bob, map[string]string{"user": carolID})
		apiCheckRoom(t, apiObject(t, added, "room"), "secret", "private", 2, true)
		apiWantAddedBy(t, n, privID, carolID, bobID)
		members := apiList(t, n.must(http.StatusOK, "GET", "/api/rooms/"+privID+"/members", carol, nil), "members")
		if got := apiNames(members); !slices.Equal(got, []string{"bob", "carol"}) || len(members[0]) != 3 {
			t.Errorf("members %v, want bob and carol with id, username, online", members)
		}
		apiCheckRoom(t, apiObject(t, n.must(http.StatusOK, "POST", "/api/rooms/"+privID+"/leave", carol, nil), "room"), "secret", "private", 1, false)
		apiWantError(t, "private room after leaving", n.call("GET", "/api/rooms/"+privID, carol, nil), 403, "forbidden", "")
	})
}

// apiWantAddedBy fails unless the log has user joining room with adder as
// the actor.
func apiWantAddedBy(t *testing.T, n *node, room, user, adder string) {
	t.Helper()
	for _, e := range apiEvents(t, n) {
		if e.Type == "MemberJoined" && e.Stream == "room-"+room && strings.Contains(string(e.Data), user) {
			if m := apiMeta(t, e); m.ActorID != adder {
				t.Errorf("member_joined of %s: actor %q, want the adder %s", user, m.ActorID, adder)
			}
			return
		}
	}
	t.Errorf("no member_joined of %s in room %s", user, room)
}

// TestAPIDirectRooms: one direct room per pair, the same from either side,
// closed to third parties and impossible to leave.
func TestAPIDirectRooms(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		bobID, bob := n.user(admin, "bob")
		carolID, carol := n.user(admin, "carol")
		_, dave := n.user(admin, "dave")
		pending := n.register("erin", "erin-password")
		first := apiObject(t, n.must(http.StatusOK, "POST", "/api/direct/"+carolID, bob, nil), "room")
		apiCheckRoom(t, first, "", "direct", 2, true)
		again := apiObject(t, n.must(http.StatusOK, "POST", "/api/direct/"+carolID, bob, nil), "room")
		other := apiObject(t, n.must(http.StatusOK, "POST", "/api/direct/"+bobID, carol, nil), "room")
		if first["id"] != again["id"] || first["id"] != other["id"] {
			t.Fatalf("direct rooms %v, %v, %v: want one room", first["id"], again["id"], other["id"])
		}
		id := first["id"].(string)
		apiRefusesAll(t, n, []badCase{
			{"third party reads", "GET", "/api/rooms/" + id, dave, nil, 403, "forbidden", ""},
			{"third party joins", "POST", "/api/rooms/" + id + "/join", dave, nil, 403, "forbidden", ""},
			{"third party history", "GET", "/api/rooms/" + id + "/messages", dave, nil, 403, "forbidden", ""},
			{"leave a direct room", "POST", "/api/rooms/" + id + "/leave", bob, nil, 403, "forbidden", ""},
			{"add to a direct room", "POST", "/api/rooms/" + id + "/members", bob, map[string]string{"user": carolID}, 403, "forbidden", ""},
			{"direct with a pending user", "POST", "/api/direct/" + pending, bob, nil, 404, "not_found", ""},
			{"direct with nobody", "POST", "/api/direct/" + uuid.NewString(), bob, nil, 404, "not_found", ""},
			{"direct with a non-id", "POST", "/api/direct/carol", bob, nil, 404, "not_found", ""},
		})
		if got := apiList(t, n.must(http.StatusOK, "GET", "/api/rooms", dave, nil), "rooms"); len(got) != 0 {
			t.Errorf("dave sees %v, want no rooms", got)
		}
	})
}

// apiEventually polls check until it holds or five seconds pass: reads
// after a message is posted come from projections that may lag a little.
func apiEventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
