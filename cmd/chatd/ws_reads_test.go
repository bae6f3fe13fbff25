package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Parts of TestWSChat: read markers, the direct room, going offline.

// wsChatReadMarkers: read frames reach every subscriber, the reader too;
// last_read and unread follow in GET /api/rooms; a lower seq is ignored.
func wsChatReadMarkers(t *testing.T, p *wsPair) {
	for i, body := range []string{"one", "two"} {
		p.alice.post(p.room, uuid.NewString(), body)
		for _, c := range []*wsClient{p.alice, p.bob} {
			c.event(p.room, p.roomHead+int64(i)+1, "message_posted")
		}
	}
	p.roomHead += 2 // 8
	// The deleted message and alice's own do not count for her.
	wsWaitRoom(t, p.n, p.bobTok, p.room, 0, 2)
	wsWaitRoom(t, p.n, p.aliceTok, p.room, 0, 0)

	p.alice.watch("read")
	p.bob.watch("read")
	p.bob.sendJSON(map[string]any{"type": "read", "room": p.room, "seq": 7})
	for _, c := range []*wsClient{p.alice, p.bob} {
		r := c.expect("read")
		u, _ := r["user"].(map[string]any)
		if r["room"] != p.room || wsSeq(r) != 7 || u["id"] != p.bobID || u["username"] != "bob" {
			t.Errorf("read frame %v: want bob at 7", r)
		}
	}
	wsWaitRoom(t, p.n, p.bobTok, p.room, 7, 1)
	before := apiRequestEvents(t, p.n)
	p.bob.sendJSON(map[string]any{"type": "read", "room": p.room, "seq": 5})
	p.bob.sync()
	p.alice.sync()
	if after := apiRequestEvents(t, p.n); after != before {
		t.Errorf("a lower read marker appended %d events", after-before)
	}
	wsWaitRoom(t, p.n, p.bobTok, p.room, 7, 1)
	delete(p.alice.keep, "read")
	delete(p.bob.keep, "read")
}

// wsWaitRoom polls GET /api/rooms as token until room shows lastRead and
// unread (projections are asynchronous), failing after 10 s.
func wsWaitRoom(t *testing.T, n *node, token, room string, lastRead, unread int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var seen map[string]any
	for time.Now().Before(deadline) {
		for _, r := range apiList(t, n.must(http.StatusOK, "GET", "/api/rooms", token, nil), "rooms") {
			if r["id"] == room {
				seen = r
			}
		}
		if seen["last_read"] == float64(lastRead) && seen["unread"] == float64(unread) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("room %v: want last_read %d and unread %d", seen, lastRead, unread)
}

// wsChatDirect: the direct room works like any other; a resend with the
// same client_id is one message.
func wsChatDirect(t *testing.T, p *wsPair) {
	sub := p.bob.subscribe(p.direct, wsPtr[int64](0))
	head := wsSeq(sub)
	for seq := int64(1); seq <= head; seq++ {
		p.bob.expect("event")
	}
	p.alice.subscribe(p.direct, nil)
	cid := uuid.NewString()
	ack := p.bob.post(p.direct, cid, "just us")
	if wsSeq(ack) != head+1 {
		t.Fatalf("ack %v, want seq %d", ack, head+1)
	}
	for _, c := range []*wsClient{p.alice, p.bob} {
		if d := wsData(c.event(p.direct, head+1, "message_posted")); d["body"] != "just us" {
			t.Errorf("direct message %v", d)
		}
	}
	again := p.bob.post(p.direct, cid, "just us, again")
	if again["id"] != ack["id"] || wsSeq(again) != wsSeq(ack) {
		t.Errorf("resend with the same client_id: ack %v, want the first message's %v", again, ack)
	}
	p.bob.sync()
	p.alice.sync()
	if v := apiHeads(t, p.n)["room-"+p.direct]; int64(v) != head+1 {
		t.Errorf("direct room head %d after a resend, want %d", v, head+1)
	}
	wsWaitRoom(t, p.n, p.aliceTok, p.direct, 0, 1)
}

// wsChatPresenceOffline: bob closes his socket; alice sees him go
// offline (within PROTOCOL.md's 5 s) and GET /api/users agrees.
func wsChatPresenceOffline(t *testing.T, p *wsPair) {
	if !wsOnline(t, p.n, p.aliceTok)["bob"] {
		t.Error("GET /api/users: bob offline while connected")
	}
	start := time.Now()
	_ = p.bob.nc.Close()
	wsWaitPresence(t, p.alice, p.bobID, false)
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("bob went offline %s after his socket closed, want under 5 s", took)
	}
	wsWaitOnline(t, p.n, p.aliceTok, "bob", false, 5*time.Second)
}

// wsOnline maps usernames to their online flag in GET /api/users.
func wsOnline(t *testing.T, n *node, token string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, u := range apiList(t, n.must(http.StatusOK, "GET", "/api/users", token, nil), "users") {
		out[u["username"].(string)] = u["online"] == true
	}
	return out
}

// wsWaitOnline polls GET /api/users until name's online flag is want.
func wsWaitOnline(t *testing.T, n *node, token, name string, want bool, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if wsOnline(t, n, token)[name] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /api/users on %s: %s online=%v after %s, want %v", n.URL, name, !want, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
