package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// wsPair is two approved users of one node, connected over sockets.
type wsPair struct {
	n                *node
	admin            string
	aliceID, bobID   string
	aliceTok, bobTok string
	alice, bob       *wsClient
	room, direct     string
	roomHead         int64
}

// TestWSChat: two users chat over sockets in a public room and in their
// direct room: hello, subscribe with after, send acked only after COMMIT
// and then delivered to both, edit, delete, typing (never stored), read
// markers, and presence when the other comes and goes.
func TestWSChat(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		p := wsSetUpPair(t, d.start(t))
		wsChatPostEditDelete(t, p)
		wsChatTyping(t, p)
		wsChatReadMarkers(t, p)
		wsChatDirect(t, p)
		wsChatPresenceOffline(t, p)
	})
}

// wsSetUpPair creates alice and bob, a public room both are in and their
// direct room (opened from both sides), and connects both; alice sees bob
// come online.
func wsSetUpPair(t *testing.T, n *node) *wsPair {
	p := &wsPair{n: n, admin: n.admin()}
	p.aliceID, p.aliceTok = n.user(p.admin, "alice")
	p.bobID, p.bobTok = n.user(p.admin, "bob")
	p.room = n.room(p.aliceTok, "general", "public")["id"].(string)
	n.must(http.StatusOK, "POST", "/api/rooms/"+p.room+"/join", p.bobTok, nil)
	d1 := apiObject(t, n.must(http.StatusOK, "POST", "/api/direct/"+p.bobID, p.aliceTok, nil), "room")
	d2 := apiObject(t, n.must(http.StatusOK, "POST", "/api/direct/"+p.aliceID, p.bobTok, nil), "room")
	d3 := apiObject(t, n.must(http.StatusOK, "POST", "/api/direct/"+p.bobID, p.aliceTok, nil), "room")
	if d1["id"] != d2["id"] || d1["id"] != d3["id"] || d1["kind"] != "direct" || d1["members"] != float64(2) {
		t.Fatalf("direct rooms %v / %v / %v: want one direct room of two, whoever opens it", d1["id"], d2["id"], d3["id"])
	}
	p.direct = d1["id"].(string)

	p.alice = n.ws(p.aliceTok).watch("presence")
	user, _ := p.alice.hello["user"].(map[string]any)
	if user["id"] != p.aliceID || user["username"] != "alice" || user["status"] != "approved" || p.alice.hello["heartbeat_ms"] != float64(25000) {
		t.Fatalf("hello %v: want alice's User and heartbeat_ms 25000", p.alice.hello)
	}
	p.bob = n.ws(p.bobTok)
	wsWaitPresence(t, p.alice, p.bobID, true)

	// alice replays the room from the start; bob takes it live only.
	sub := p.alice.subscribe(p.room, wsPtr[int64](0))
	p.roomHead = wsSeq(sub)
	if p.roomHead != 3 {
		t.Fatalf("subscribed %v: want head 3 (created, alice and bob joined)", sub)
	}
	for seq, kind := range []string{"room_created", "member_joined", "member_joined"} {
		ev := p.alice.event(p.room, int64(seq+1), kind)
		if !wireTime.MatchString(ev["at"].(string)) {
			t.Errorf("event at %v: want a wire time", ev["at"])
		}
	}
	if head := wsSeq(p.bob.subscribe(p.room, nil)); head != 3 {
		t.Fatalf("bob's subscribed head %d, want 3", head)
	}
	return p
}

// wsWaitPresence reads c's frames until the presence frame of user.
func wsWaitPresence(t *testing.T, c *wsClient, user string, online bool) {
	t.Helper()
	c.waitFor("presence of "+user, func(m map[string]any) bool {
		u, _ := m["user"].(map[string]any)
		return m["type"] == "presence" && u["id"] == user && m["online"] == online
	})
}

// wsChatPostEditDelete: send, edit and delete; each acked after COMMIT
// and delivered to both.
func wsChatPostEditDelete(t *testing.T, p *wsPair) {
	cid := uuid.NewString()
	ack := p.alice.post(p.room, cid, "  hello bob  ")
	// Acked only after COMMIT: the room's stream head already counts it.
	if head := apiHeads(t, p.n)["room-"+p.room]; int64(head) < wsSeq(ack) || wsSeq(ack) != 4 {
		t.Fatalf("ack %v while the room's committed head is %d", ack, head)
	}
	if !wireTime.MatchString(ack["sent_at"].(string)) || !wireID.MatchString(ack["id"].(string)) {
		t.Errorf("ack %v: want a UUIDv7 id and a wire time", ack)
	}
	id := ack["id"].(string)
	for _, c := range []*wsClient{p.alice, p.bob} {
		ev := c.event(p.room, 4, "message_posted")
		if d := wsData(ev); d["id"] != id || d["body"] != "hello bob" || d["client_id"] != cid {
			t.Errorf("message_posted %v: want the trimmed body and the ack's ids", ev)
		}
		if a, _ := ev["actor"].(map[string]any); a["id"] != p.aliceID || a["username"] != "alice" {
			t.Errorf("actor %v, want alice", ev["actor"])
		}
	}
	p.bob.sendJSON(map[string]any{"type": "edit", "ref": "e0", "room": p.room, "id": id, "body": "bob's words"})
	if e := p.bob.reply("e0"); e["code"] != "forbidden" || e["ref"] != "e0" {
		t.Errorf("bob editing alice's message: %v, want forbidden", e)
	}
	p.alice.sendJSON(map[string]any{"type": "edit", "ref": "e1", "room": p.room, "id": id, "body": "hello, bob"})
	if a := p.alice.reply("e1"); a["type"] != "ack" || a["id"] != id || wsSeq(a) != 5 || a["room"] != p.room {
		t.Errorf("edit ack %v, want seq 5", a)
	}
	p.alice.sendJSON(map[string]any{"type": "delete", "ref": "d1", "room": p.room, "id": id})
	if a := p.alice.reply("d1"); a["type"] != "ack" || a["id"] != id || wsSeq(a) != 6 {
		t.Errorf("delete ack %v, want seq 6", a)
	}
	for _, c := range []*wsClient{p.alice, p.bob} {
		if d := wsData(c.event(p.room, 5, "message_edited")); d["id"] != id || d["body"] != "hello, bob" {
			t.Errorf("message_edited %v", d)
		}
		if d := wsData(c.event(p.room, 6, "message_deleted")); d["id"] != id {
			t.Errorf("message_deleted %v", d)
		}
	}
	msgs := wsPollMessages(t, p.n, p.bobTok, p.room, 1)
	if m := msgs[0]; m["id"] != id || m["deleted"] != true || m["body"] != "" || m["edited_at"] == nil {
		t.Errorf("history of the deleted message: %v", m)
	}
	p.roomHead = 6
}

// wsPollMessages polls the room's history until it holds n messages.
func wsPollMessages(t *testing.T, n *node, token, room string, want int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := apiList(t, n.must(http.StatusOK, "GET", "/api/rooms/"+room+"/messages", token, nil), "messages")
		if len(msgs) >= want || time.Now().After(deadline) {
			if len(msgs) != want {
				t.Fatalf("history of %s: %d messages, want %d", room, len(msgs), want)
			}
			return msgs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wsChatTyping: a typing frame reaches the other user, not the typist,
// repeats within a second are dropped, and nothing is stored.
func wsChatTyping(t *testing.T, p *wsPair) {
	p.bob.watch("typing")
	before := apiRequestEvents(t, p.n)
	p.alice.send(`{"type":"typing","room":"` + p.room + `"}`)
	p.alice.send(`{"type":"typing","room":"` + p.room + `"}`) // dropped: within 1 s
	got := p.bob.expect("typing")
	u, _ := got["user"].(map[string]any)
	until, err := time.Parse(time.RFC3339, got["until"].(string))
	if got["room"] != p.room || u["id"] != p.aliceID || u["username"] != "alice" || err != nil ||
		until.Before(time.Now().Add(3*time.Second)) || until.After(time.Now().Add(7*time.Second)) {
		t.Errorf("typing frame %v: want alice in the room, until ≈5 s from now", got)
	}
	p.alice.sync()
	p.bob.sync()
	for _, c := range []*wsClient{p.alice, p.bob} {
		for _, f := range c.skipped {
			if f["type"] == "typing" {
				t.Errorf("unexpected typing frame %v (the typist's own, or a repeat within 1 s)", f)
			}
		}
	}
	delete(p.bob.keep, "typing")
	if after := apiRequestEvents(t, p.n); after != before {
		t.Errorf("typing appended %d events", after-before)
	}
	for _, e := range apiEvents(t, p.n) {
		if strings.Contains(strings.ToLower(e.Type), "typing") || strings.Contains(string(e.Data), `"typing"`) {
			t.Errorf("the log holds a typing event: %s %s", e.Type, e.Data)
		}
	}
}
