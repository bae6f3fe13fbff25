package ws

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/projections"
	gws "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/google/uuid"
)

func TestErrorFrames(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.user("alice")
	room := h.chat.addRoom(alice.id())
	cases := []struct {
		name, frame, code, ref string
	}{
		{"malformed JSON", `{"type":"ping"`, "bad_request", ""},
		{"not an object", `["ping"]`, "bad_request", ""},
		{"unknown type", `{"type":"dance","ref":"r1"}`, "bad_request", "r1"},
		{"missing type", `{"ref":"r2"}`, "bad_request", "r2"},
		{"ref too long", `{"type":"ping","ref":"` + strings.Repeat("é", 65) + `"}`, "bad_request", ""},
		{"room not a UUID", `{"type":"subscribe","ref":"r3","room":"lobby"}`, "bad_request", "r3"},
		{"missing body", fmt.Sprintf(`{"type":"send","ref":"r4","room":%q,"client_id":%q}`, room, uuid.New()), "bad_request", "r4"},
		{"blank body", fmt.Sprintf(`{"type":"send","ref":"r5","room":%q,"client_id":%q,"body":"  "}`, room, uuid.New()), "bad_request", "r5"},
		{"body too long", fmt.Sprintf(`{"type":"send","ref":"r6","room":%q,"client_id":%q,"body":%q}`, room, uuid.New(), strings.Repeat("a", 4001)), "bad_request", "r6"},
		{"negative seq", fmt.Sprintf(`{"type":"read","ref":"r7","room":%q,"seq":-1}`, room), "bad_request", "r7"},
	}
	for _, tc := range cases {
		alice.send(tc.frame)
		m := alice.expect("error")
		ref, hasRef := m["ref"]
		if m["code"] != tc.code || (tc.ref == "" && hasRef) || (tc.ref != "" && ref != tc.ref) || m["message"] == "" {
			t.Errorf("%s: error = %v, want code %s ref %q", tc.name, m, tc.code, tc.ref)
		}
	}
	alice.sync() // errors never close the socket
	if got := counterValue(t, h.gw.m.errors.WithLabelValues("bad_request")); got != float64(len(cases)) {
		t.Errorf("bad_request errors counted %v, want %d", got, len(cases))
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SendRate, c.SendBurst = 0.001, 2 })
	alice := h.user("alice")
	room := h.chat.addRoom(alice.id())
	for i := 0; i < 3; i++ {
		alice.sendJSON(map[string]any{"type": "send", "ref": fmt.Sprint(i), "room": room, "client_id": uuid.New(), "body": "spam"})
		m := alice.read()
		if i < 2 && m["type"] != "ack" {
			t.Fatalf("send %d: %v, want ack", i, m)
		}
		if i == 2 && (m["type"] != "error" || m["code"] != "rate_limited" || m["ref"] != "2") {
			t.Fatalf("send %d: %v, want rate_limited", i, m)
		}
	}
}

func TestCloseCodes(t *testing.T) {
	h := newHarness(t, nil)
	cases := []struct {
		name  string
		write func(c *client) error
		code  gws.StatusCode
	}{
		{"binary frame", func(c *client) error { return wsutil.WriteClientBinary(c.nc, []byte(`{"type":"ping"}`)) }, 1003},
		{"over 64 KiB", func(c *client) error { return wsutil.WriteClientText(c.nc, make([]byte, 65537)) }, 1009},
		{"over 64 KiB in fragments", func(c *client) error {
			if err := gws.WriteFrame(c.nc, gws.MaskFrame(gws.NewFrame(gws.OpText, false, make([]byte, 40000)))); err != nil {
				return err
			}
			return gws.WriteFrame(c.nc, gws.MaskFrame(gws.NewFrame(gws.OpContinuation, true, make([]byte, 40000))))
		}, 1009},
		{"invalid UTF-8", func(c *client) error {
			return wsutil.WriteClientText(c.nc, []byte("{\"type\":\"ping\",\"ref\":\"\xff\"}"))
		}, 1007},
		{"unmasked frame", func(c *client) error { return gws.WriteFrame(c.nc, gws.NewTextFrame([]byte(`{"type":"ping"}`))) }, 1002},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := h.user("u" + uuid.NewString()[:8])
			c.t = t
			if err := tc.write(c); err != nil {
				t.Fatalf("write: %v", err)
			}
			c.expectClose(tc.code)
		})
	}
}

func TestLargestMessageAccepted(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.user("alice")
	head := `{"type":"ping","ref":"big","pad":"`
	frame := head + strings.Repeat("x", 65536-len(head)-2) + `"}`
	if len(frame) != 65536 {
		t.Fatalf("frame is %d bytes", len(frame))
	}
	// Fragmented, as browsers may send it.
	if err := gws.WriteFrame(alice.nc, gws.MaskFrame(gws.NewFrame(gws.OpText, false, []byte(frame[:30000])))); err != nil {
		t.Fatal(err)
	}
	if err := gws.WriteFrame(alice.nc, gws.MaskFrame(gws.NewFrame(gws.OpContinuation, true, []byte(frame[30000:])))); err != nil {
		t.Fatal(err)
	}
	if m := alice.expect("pong"); m["ref"] != "big" {
		t.Fatalf("pong = %v", m)
	}
	alice.send(frame)
	alice.expect("pong")
}

func TestAbuseClose(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.user("alice")
	for i := 1; i <= 20; i++ {
		alice.send(fmt.Sprintf(`{"type":"nope","ref":"%d"}`, i))
		alice.expect("error")
	}
	alice.sync() // 20 are tolerated
	alice.send(`{"type":"nope","ref":"21"}`)
	if m := alice.expect("error"); m["ref"] != "21" {
		t.Fatalf("21st error = %v", m)
	}
	alice.expectClose(1008)
}

func TestHeartbeatTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Heartbeat = 100 * time.Millisecond })
	silent := h.user("silent")
	talker := h.user("talker")
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for time.Since(start) < 600*time.Millisecond {
			if err := wsutil.WriteClientText(talker.nc, []byte(`{"type":"ping"}`)); err != nil {
				t.Errorf("ping: %v", err)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	silent.expectClose(1000)
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Errorf("silent client closed after %v, want about 2 heartbeats", d)
	}
	<-done
	talker.send(`{"type":"ping","ref":"alive"}`)
	for {
		if m := talker.expect("pong"); m["ref"] == "alive" {
			break // still open after 6 heartbeats of pinging
		}
	}
}

func TestSessionEndAndDeactivation(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.user("alice")
	alice2 := h.connect(h.chat.newSession(alice.sess))
	bob := h.user("bob")
	bob2 := h.connect(h.chat.newSession(bob.sess))

	h.gw.Deliver([]projections.Update{{Kind: projections.UpdateSessionEnded, User: alice.id(), Session: alice.sess.ID}})
	alice.expectClose(4001)
	alice2.sync() // another session of the same user stays

	h.gw.Deliver([]projections.Update{{Kind: projections.UpdateUserDeactivated, User: bob.id()}})
	bob.expectClose(4003)
	bob2.expectClose(4003)
	alice2.sync()
}

func TestGracefulShutdown(t *testing.T) {
	h := newHarness(t, nil)
	alice, bob := h.user("alice"), h.user("bob")
	room := h.chat.addRoom(alice.id(), bob.id())
	alice.subscribe(room, nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.gw.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	alice.expectClose(1000)
	bob.expectClose(1000)
	wg.Wait()
	if _, _, err := dialWS(context.Background(), h.raw, bearer("x")); err == nil {
		t.Fatal("the gateway's listener still accepts after shutdown")
	}
	// Presence: both went offline at once, without waiting for the grace.
	offline := 0
	for _, c := range h.chat.presence() {
		if !c.Online {
			offline++
		}
	}
	if offline != 2 {
		t.Errorf("offline events after shutdown = %d, want 2: %+v", offline, h.chat.presence())
	}
}

// TestParkedSocketsClose: the server's own closes reach sockets whose
// readers are parked in epoll, and their clients' answers are read.
func TestParkedSocketsClose(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Heartbeat = 400 * time.Millisecond }) // a 100 ms linger
	alice, bob := h.user("alice"), h.user("bob")
	alice2 := h.connect(h.chat.newSession(alice.sess))
	waitParked(t, h, 3)

	h.gw.Deliver([]projections.Update{{Kind: projections.UpdateSessionEnded, User: alice.id(), Session: alice.sess.ID}})
	alice.expectClose(4001)
	waitConnections(t, h, 2)
	waitParked(t, h, 2)
	h.gw.Deliver([]projections.Update{{Kind: projections.UpdateUserDeactivated, User: alice.id()}})
	alice2.expectClose(4003)
	waitConnections(t, h, 1)
	waitParked(t, h, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.gw.Shutdown(ctx) }()
	bob.expectClose(1000)
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestParkedSocketClosedWithoutAnswer: a parked socket the server closes
// ends after CloseTimeout even when its client never answers, not at the
// heartbeat deadline: closing wakes the parked reader.
func TestParkedSocketClosedWithoutAnswer(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Heartbeat = 4 * time.Second }) // a 1 s linger, closed when silent 8 s
	alice := h.user("alice")
	waitParked(t, h, 1)
	start := time.Now()
	h.gw.Deliver([]projections.Update{{Kind: projections.UpdateSessionEnded, User: alice.id(), Session: alice.sess.ID}})
	waitConnections(t, h, 0) // alice reads nothing and answers nothing
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a silent client's socket ended %v after the close, want about CloseTimeout (500 ms)", d)
	}
}
