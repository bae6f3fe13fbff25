package ws

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	gws "github.com/gobwas/ws"
	"github.com/google/uuid"
)

var timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestHello(t *testing.T) {
	h := newHarness(t, nil)
	sess, token := h.chat.addUser("alice")
	nc, rw, err := dialWS(context.Background(), h.url, bearer(token))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer nc.Close()
	c := &client{t: t, nc: nc, rw: rw}
	m := c.expect("hello")
	if m["heartbeat_ms"] != float64(25000) {
		t.Errorf("heartbeat_ms = %v, want 25000", m["heartbeat_ms"])
	}
	u, _ := m["user"].(map[string]any)
	if u["id"] != sess.User.ID.String() || u["username"] != "alice" || u["status"] != "approved" {
		t.Errorf("hello user = %v", u)
	}
	if roles, ok := u["roles"].([]any); !ok || len(roles) != 0 {
		t.Errorf("roles = %#v, want []", u["roles"])
	}
	if at, _ := u["created_at"].(string); !timeRE.MatchString(at) {
		t.Errorf("created_at = %q", at)
	}
}

func TestHandshake(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AllowedOrigins = []string{"https://app.example.com"} })
	_, token := h.chat.addUser("alice")
	cookie := func(origin string) http.Header {
		hd := http.Header{"Cookie": {CookieName + "=" + token}}
		if origin != "" {
			hd.Set("Origin", origin)
		}
		return hd
	}
	withOrigin := func(hd http.Header, origin string) http.Header { hd.Set("Origin", origin); return hd }
	cases := []struct {
		name   string
		header func(own string) http.Header
		status int // 0: upgraded
	}{
		{name: "no credentials", header: func(string) http.Header { return http.Header{} }, status: 401},
		{name: "unknown token", header: func(string) http.Header { return bearer("nope") }, status: 401},
		{name: "bearer without origin", header: func(string) http.Header { return bearer(token) }},
		{name: "bearer with own origin", header: func(own string) http.Header { return withOrigin(bearer(token), own) }},
		{name: "bearer with foreign origin", header: func(string) http.Header { return withOrigin(bearer(token), "https://evil.example") }, status: 403},
		{name: "bad token with foreign origin", header: func(string) http.Header { return withOrigin(bearer("nope"), "https://evil.example") }, status: 403},
		{name: "cookie with own origin", header: func(own string) http.Header { return cookie(own) }},
		{name: "cookie with allowed origin", header: func(string) http.Header { return cookie("https://app.example.com") }},
		{name: "cookie without origin", header: func(string) http.Header { return cookie("") }, status: 403},
		{name: "cookie with foreign origin", header: func(string) http.Header { return cookie("http://evil.example") }, status: 403},
	}
	for _, route := range []struct{ name, url string }{{"http", h.url}, {"raw", h.raw}} {
		own := "http://" + strings.TrimPrefix(strings.TrimSuffix(route.url, "/ws"), "ws://")
		for _, tc := range cases {
			t.Run(route.name+"/"+tc.name, func(t *testing.T) {
				nc, rw, err := dialWS(context.Background(), route.url, tc.header(own))
				if tc.status == 0 {
					if err != nil {
						t.Fatalf("dial: %v", err)
					}
					defer nc.Close()
					(&client{t: t, nc: nc, rw: rw}).expect("hello")
					return
				}
				var se gws.StatusError
				if !errors.As(err, &se) || int(se) != tc.status {
					if nc != nil {
						nc.Close()
					}
					t.Fatalf("dial error %v, want HTTP %d", err, tc.status)
				}
			})
		}
	}
}

func TestSubscribeReplayThenLive(t *testing.T) {
	h := newHarness(t, nil)
	alice, bob := h.user("alice"), h.user("bob")
	room := h.chat.addRoom(alice.id(), bob.id())
	h.chat.seed(t, room, alice.ref(), 5)

	m := alice.subscribe(room, ptr(int64(2)))
	if seqOf(map[string]any{"seq": m["head"]}) != 5 || m["truncated"] != nil {
		t.Fatalf("subscribed = %v, want head 5, not truncated", m)
	}
	for want := int64(3); want <= 5; want++ {
		if e := alice.expect("event"); seqOf(e) != want || e["kind"] != "message_posted" {
			t.Fatalf("replayed %v, want seq %d", e, want)
		}
	}
	bob.subscribe(room, nil)
	alice.sync()
	clientID := uuid.New()
	bob.sendJSON(map[string]any{"type": "send", "ref": "s1", "room": room, "client_id": clientID, "body": "  hi all  "})
	ack := bob.expect("ack")
	if ack["ref"] != "s1" || ack["room"] != room.String() || ack["client_id"] != clientID.String() || seqOf(ack) != 6 {
		t.Fatalf("ack = %v", ack)
	}
	if at, _ := ack["sent_at"].(string); !timeRE.MatchString(at) {
		t.Errorf("sent_at = %q", ack["sent_at"])
	}
	for _, c := range []*client{alice, bob} {
		e := c.expect("event")
		data, _ := e["data"].(map[string]any)
		if seqOf(e) != 6 || data["body"] != "hi all" || data["id"] != ack["id"] {
			t.Fatalf("event to %s = %v", c.sess.User.Username, e)
		}
	}
}

func TestSubscribeRefused(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.user("alice")
	other := h.chat.addRoom()
	alice.sendJSON(map[string]any{"type": "subscribe", "ref": "a", "room": uuid.New()})
	if e := alice.expect("error"); e["code"] != "not_found" || e["ref"] != "a" {
		t.Fatalf("unknown room: %v", e)
	}
	alice.sendJSON(map[string]any{"type": "subscribe", "ref": "b", "room": other})
	if e := alice.expect("error"); e["code"] != "forbidden" || e["ref"] != "b" {
		t.Fatalf("not a member: %v", e)
	}
	alice.sendJSON(map[string]any{"type": "send", "ref": "c", "room": other, "client_id": uuid.New(), "body": "x"})
	if e := alice.expect("error"); e["code"] != "forbidden" || e["ref"] != "c" {
		t.Fatalf("send to a room not joined: %v", e)
	}
}

func TestTruncatedReplay(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.user("alice")
	room := h.chat.addRoom(alice.id())
	h.chat.seed(t, room, alice.ref(), 620)
	m := alice.subscribe(room, ptr(int64(10)))
	if m["truncated"] != true || m["head"] != float64(620) {
		t.Fatalf("subscribed = %v, want truncated at head 620", m)
	}
	for want := int64(121); want <= 620; want++ {
		if e := alice.expect("event"); seqOf(e) != want {
			t.Fatalf("replayed seq %d, want %d", seqOf(e), want)
		}
	}
	alice.sync()
}

func TestUnsubscribe(t *testing.T) {
	h := newHarness(t, nil)
	alice, bob := h.user("alice"), h.user("bob")
	room := h.chat.addRoom(alice.id(), bob.id())
	alice.subscribe(room, nil)
	alice.sendJSON(map[string]any{"type": "unsubscribe", "ref": "u", "room": room})
	if m := alice.expect("unsubscribed"); m["ref"] != "u" || m["room"] != room.String() {
		t.Fatalf("unsubscribed = %v", m)
	}
	bob.sendJSON(map[string]any{"type": "send", "room": room, "client_id": uuid.New(), "body": "x"})
	bob.expect("ack")
	waitDelivered(t, h)
	alice.sync() // no event may come before the pong
}

// waitDelivered waits until the fake bus handed every update over.
func waitDelivered(t *testing.T, h *harness) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(h.chat.updates) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the batch in hand
}

func TestSendIsIdempotent(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.user("alice")
	room := h.chat.addRoom(alice.id())
	id := uuid.New()
	frame := map[string]any{"type": "send", "room": room, "client_id": id, "body": "once"}
	alice.sendJSON(frame)
	first := alice.expect("ack")
	alice.sendJSON(frame)
	second := alice.expect("ack")
	if first["id"] != second["id"] || first["seq"] != second["seq"] || first["sent_at"] != second["sent_at"] {
		t.Fatalf("resend acked %v, first %v", second, first)
	}
	if _, hasRef := first["ref"]; hasRef {
		t.Errorf("ack without a ref in the frame carries one: %v", first)
	}
}

func TestEditAndDelete(t *testing.T) {
	h := newHarness(t, nil)
	alice, bob := h.user("alice"), h.user("bob")
	room := h.chat.addRoom(alice.id(), bob.id())
	alice.sendJSON(map[string]any{"type": "send", "room": room, "client_id": uuid.New(), "body": "draft"})
	msg := alice.expect("ack")["id"]

	bob.sendJSON(map[string]any{"type": "edit", "ref": "e0", "room": room, "id": msg, "body": "mine now"})
	if e := bob.expect("error"); e["code"] != "forbidden" || e["ref"] != "e0" {
		t.Fatalf("edit by another user: %v", e)
	}
	alice.sendJSON(map[string]any{"type": "edit", "ref": "e1", "room": room, "id": msg, "body": "final"})
	if a := alice.expect("ack"); a["ref"] != "e1" || a["id"] != msg || seqOf(a) != 2 || a["room"] != room.String() {
		t.Fatalf("edit ack = %v", a)
	}
	alice.sendJSON(map[string]any{"type": "delete", "ref": "d1", "room": room, "id": msg})
	if a := alice.expect("ack"); a["ref"] != "d1" || a["id"] != msg || seqOf(a) != 3 {
		t.Fatalf("delete ack = %v", a)
	}
	alice.sendJSON(map[string]any{"type": "delete", "ref": "d2", "room": room, "id": uuid.New()})
	if e := alice.expect("error"); e["code"] != "not_found" {
		t.Fatalf("delete of an unknown message: %v", e)
	}
}

func TestTyping(t *testing.T) {
	h := newHarness(t, nil)
	alice, bob, carol := h.user("alice"), h.user("bob"), h.user("carol")
	room := h.chat.addRoom(alice.id(), bob.id(), carol.id())
	for _, c := range []*client{alice, bob, carol} {
		c.subscribe(room, nil)
	}
	start := time.Now()
	alice.sendJSON(map[string]any{"type": "typing", "room": room})
	for _, c := range []*client{bob, carol} {
		m := c.expect("typing")
		u, _ := m["user"].(map[string]any)
		until, err := time.Parse(time.RFC3339, m["until"].(string))
		if err != nil || m["room"] != room.String() || u["id"] != alice.id().String() || u["username"] != "alice" {
			t.Fatalf("typing = %v (%v)", m, err)
		}
		if d := until.Sub(start); d < 4*time.Second || d > 6*time.Second {
			t.Errorf("until is %v after the typing frame, want about 5s", d)
		}
	}
	alice.sendJSON(map[string]any{"type": "typing", "room": room}) // within 1 s: dropped
	alice.sync()
	bob.sync()
	carol.sync()
	time.Sleep(1100 * time.Millisecond)
	alice.sendJSON(map[string]any{"type": "typing", "room": room})
	bob.expect("typing")
	alice.sync() // the typist never gets their own typing frame
}

func TestReadMarker(t *testing.T) {
	h := newHarness(t, nil)
	alice, bob := h.user("alice"), h.user("bob")
	room := h.chat.addRoom(alice.id(), bob.id())
	h.chat.seed(t, room, bob.ref(), 3)
	alice2 := h.connect(h.chat.newSession(alice.sess))
	for _, c := range []*client{alice, alice2, bob} {
		c.subscribe(room, nil)
	}
	alice.sendJSON(map[string]any{"type": "read", "room": room, "seq": 2})
	for _, c := range []*client{alice, alice2, bob} {
		m := c.expect("read")
		u, _ := m["user"].(map[string]any)
		if seqOf(m) != 2 || m["room"] != room.String() || u["id"] != alice.id().String() {
			t.Fatalf("read = %v", m)
		}
	}
	alice.sendJSON(map[string]any{"type": "read", "room": room, "seq": 1}) // lower: ignored
	waitDelivered(t, h)
	bob.sync()
}

func TestPing(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.user("alice")
	alice.send(`{"type":"ping","ref":"p-1"}`)
	if m := alice.expect("pong"); m["ref"] != "p-1" {
		t.Fatalf("pong = %v", m)
	}
	alice.send(`{"type":"ping"}`)
	if m := alice.expect("pong"); len(m) != 1 {
		t.Fatalf("pong without ref = %v", m)
	}
}
