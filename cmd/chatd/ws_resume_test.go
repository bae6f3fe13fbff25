package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	gws "github.com/gobwas/ws"
	"github.com/google/uuid"
)

// wsSendPaced sends count messages to room in bursts of 10, each burst
// after the acks of the one before; safe on any goroutine (it reports
// instead of failing).
func wsSendPaced(c *wsClient, room string, count int) error {
	for sent := 0; sent < count; {
		burst := min(10, count-sent)
		for i := range burst {
			frame := fmt.Sprintf(`{"type":"send","ref":"p%d","room":%q,"client_id":%q,"body":"m%d"}`, sent+i, room, uuid.NewString(), sent+i)
			if err := gwsWriteText(c, frame); err != nil {
				return err
			}
		}
		for acked := 0; acked < burst; {
			p, err := c.readRaw(wsTimeout)
			if err != nil {
				return fmt.Errorf("waiting for acks: %w", err)
			}
			var m map[string]any
			if err := json.Unmarshal(p, &m); err != nil {
				return err
			}
			switch m["type"] {
			case "ack":
				acked++
			case "error":
				return fmt.Errorf("send refused: %v", m)
			}
		}
		sent += burst
	}
	return nil
}

// wsReadRun reads c's events of room, requiring each to be the seq after
// last, until last reaches until or, if stop > 0, stop events were read.
func wsReadRun(t *testing.T, c *wsClient, room string, last *int64, until int64, stop int) {
	t.Helper()
	for n := 0; *last < until && (stop == 0 || n < stop); n++ {
		m := c.expect("event")
		if m["room"] != room || wsSeq(m) != *last+1 {
			t.Fatalf("event %v seq %v after %d: a gap or a repeat", m["room"], m["seq"], *last)
		}
		*last++
	}
}

// TestWSResumeUnderLoad: a client that disconnects and resumes with
// `after` three times while two others send gets every event exactly
// once and in order, across each replay/live boundary.
func TestWSResumeUnderLoad(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		room := n.room(admin, "busy", "public")["id"].(string)
		var senders []*wsClient
		for _, name := range []string{"bob", "carol"} {
			_, tok := n.user(admin, name)
			n.must(http.StatusOK, "POST", "/api/rooms/"+room+"/join", tok, nil)
			senders = append(senders, n.ws(tok))
		}
		watcher := n.ws(admin)
		last := wsSeq(watcher.subscribe(room, nil))
		const each = 60
		final := last + int64(len(senders)*each)
		errs := make(chan error, len(senders))
		for _, c := range senders {
			go func() { errs <- wsSendPaced(c, room, each) }()
		}
		for range 3 {
			wsReadRun(t, watcher, room, &last, final, 20)
			_ = watcher.nc.Close()
			watcher = n.ws(admin)
			if sub := watcher.subscribe(room, wsPtr(last)); sub["truncated"] != nil {
				t.Fatalf("subscribed %v: a short replay is not truncated", sub)
			}
		}
		wsReadRun(t, watcher, room, &last, final, 0)
		for range senders {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		watcher.sync()
	})
}

// TestWSResumeAfterRestart: the node stops (sockets close with 1000),
// a new node starts on the same deployment, and the client resumes with
// `after`: every acked message is there once, including those sent while
// it was away.
func TestWSResumeAfterRestart(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		_, bob := n.user(admin, "bob")
		room := n.room(admin, "durable", "public")["id"].(string)
		n.must(http.StatusOK, "POST", "/api/rooms/"+room+"/join", bob, nil)
		watcher := n.ws(admin)
		last := wsSeq(watcher.subscribe(room, nil))
		sender := n.ws(bob)
		if err := wsSendPaced(sender, room, 30); err != nil {
			t.Fatal(err)
		}
		wsReadRun(t, watcher, room, &last, last+10, 0) // some seen live, the rest missed
		n.stop()
		watcher.expectClose(gws.StatusNormalClosure)

		n2 := d.start(t)
		for i := range 5 { // sent while the watcher is away
			n2.must(http.StatusCreated, "POST", "/api/rooms/"+room+"/messages", bob,
				map[string]string{"client_id": uuid.NewString(), "body": fmt.Sprintf("after restart %d", i)})
		}
		final := int64(apiHeads(t, n2)["room-"+room])
		if final != 3+30+5 {
			t.Fatalf("room head %d after the restart, want %d", final, 3+30+5)
		}
		watcher = n2.ws(admin)
		// head comes from the rooms read model, which may lag the log by a
		// moment; the events themselves must all come, replayed or live.
		if head := wsSeq(watcher.subscribe(room, wsPtr(last))); head < last || head > final {
			t.Errorf("subscribed head %d, want between %d and %d", head, last, final)
		}
		wsReadRun(t, watcher, room, &last, final, 0)
		watcher.sync()
		if len(wsPollMessages(t, n2, bob, room, 35)) != 35 {
			t.Error("history lost messages over the restart")
		}
	})
}
