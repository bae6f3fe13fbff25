package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	gws "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/google/uuid"
)

// wsPipeline sends count messages to room without waiting, then reads
// their replies; it returns how many were acked and how many refused with
// rate_limited (anything else fails the test).
func wsPipeline(t *testing.T, c *wsClient, room string, count int, body string) (acked, limited int) {
	t.Helper()
	for i := range count {
		c.send(fmt.Sprintf(`{"type":"send","ref":"f%d","room":%q,"client_id":%q,"body":%q}`, i, room, uuid.NewString(), body))
	}
	for acked+limited < count {
		m := c.read()
		switch {
		case m["type"] == "ack":
			acked++
		case m["type"] == "error" && m["code"] == "rate_limited":
			limited++
		case m["type"] == "event":
		default:
			t.Fatalf("reply %v, want an ack or rate_limited", m)
		}
	}
	return acked, limited
}

// TestWSFlood: a user sending faster than the per-user rate gets
// rate_limited errors for the excess, which store nothing; everyone else
// keeps chatting and sees exactly the accepted messages.
func TestWSFlood(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		s := wsSetUpBad(t, d)
		alice := s.n.ws(s.aliceTok)
		stored := wsStored(t, s.n)
		const count = 250 // the burst is 100, then 50 a second
		acked, limited := wsPipeline(t, alice, s.room, count, "flood")
		if limited == 0 || acked < 100 {
			t.Fatalf("%d sends at once: %d acked, %d rate_limited; want the burst acked and the rest limited", count, acked, limited)
		}
		alice.sync()
		for i := range acked {
			s.bob.event(s.room, s.head+int64(i)+1, "message_posted")
		}
		s.head += int64(acked)
		s.bystander(t)
		if got := wsStored(t, s.n); got != stored+acked+1 {
			t.Errorf("the log grew by %d events, want %d acked + 1", got-stored, acked)
		}
	})
}

// wsSlowDial connects with a 4 KiB receive buffer, so that a client that
// stops reading backs up into the server's queue quickly.
func wsSlowDial(t *testing.T, n *node, token string) *wsClient {
	t.Helper()
	nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	d := gws.Dialer{Timeout: 5 * time.Second, NetDial: nd.DialContext,
		Header: gws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + token}})}
	nc, br, _, err := d.Dial(context.Background(), wsURL(n.URL))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	var rw io.ReadWriter = nc
	if br != nil {
		rw = struct {
			io.Reader
			io.Writer
		}{io.MultiReader(br, nc), nc}
	}
	c := &wsClient{t: t, nc: nc, rw: rw, keep: map[string]bool{}}
	c.expect("hello")
	return c
}

// wsSlowSenders, with alice, send 100 messages each (their burst) until
// the slow client's queue overflowed. Before it does, the server holds
// its queue (512 frames of 16 kB), one write's batch (64) and what the
// kernel's send buffer takes (up to tcp_wmem's 4 MB here, ~260 frames):
// about 840 frames, so 1,300 leave a margin.
const wsSlowSenders = 12

// TestWSSlowConsumer: a client that stops reading is closed with 1013
// once its queue overflows, and does not hold back the others, who get
// every message.
func TestWSSlowConsumer(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		s := wsSetUpBad(t, d)
		admin := s.n.login("admin", "admin-password")
		_, carolTok := s.n.user(admin, "carol")
		s.n.must(http.StatusOK, "POST", "/api/rooms/"+s.room+"/join", carolTok, nil)
		s.head++ // carol joined
		s.bob.event(s.room, s.head, "member_joined")
		slow := wsSlowDial(t, s.n, carolTok)
		slow.subscribe(s.room, nil)

		// 4000 characters of 4 bytes: the largest frames, which fill the
		// kernel's buffers soonest, so the queue of 512 frames overflows.
		body := strings.Repeat("\U0001F600", 4000)
		senders := []string{s.aliceTok}
		for i := range wsSlowSenders {
			_, tok := s.n.user(admin, fmt.Sprintf("sender%d", i))
			s.n.must(http.StatusOK, "POST", "/api/rooms/"+s.room+"/join", tok, nil)
			senders = append(senders, tok)
		}
		s.head += wsSlowSenders
		for range wsSlowSenders {
			s.bob.expect("event") // the senders' member_joined
		}
		// bob reads everything, in order, while it is sent; carol reads
		// nothing until her queue overflowed, then reads to the close.
		closed := make(chan error, 1)
		overflowed := make(chan struct{})
		go func() {
			if err := wsAwaitMetric(s.n.URL, "chat_ws_queue_overflows_total ", overflowed); err != nil {
				closed <- err
				return
			}
			closed <- wsCloseIs(slow, 1013)
		}()
		got := make(chan wsRun, 1)
		go func() { got <- wsReadSeqs(s.bob, s.room, s.head, "end of the flood") }()
		sent := 0
		for _, tok := range senders {
			select {
			case <-overflowed:
				continue // enough
			default:
			}
			acked, limited := wsPipeline(t, s.n.ws(tok), s.room, 100, body)
			if acked != 100 {
				t.Fatalf("a burst of 100: %d acked, %d rate_limited", acked, limited)
			}
			sent += acked
		}
		s.n.ws(s.aliceTok).post(s.room, uuid.NewString(), "end of the flood") // not bob: his socket is being read
		run := <-got
		if run.err != nil || run.last != s.head+int64(sent)+1 {
			t.Fatalf("bob read to seq %d (%v), want %d", run.last, run.err, s.head+int64(sent)+1)
		}
		s.head = run.last
		if err := <-closed; err != nil {
			t.Fatalf("the slow client: %v", err)
		}
		s.bystander(t)
	})
}

// wsAwaitMetric polls base's /metrics until the sample named by prefix is
// at least 1, then closes reached; it gives up after 60 s.
func wsAwaitMetric(base, prefix string, reached chan<- struct{}) error {
	defer close(reached)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, prefix); ok && v != "0" {
				return nil
			}
		}
	}
	return fmt.Errorf("no %s within 60 s", prefix)
}

// wsCloseIs reads c until the server's close and checks its code; safe on
// any goroutine.
func wsCloseIs(c *wsClient, want gws.StatusCode) error {
	for range 100_000 {
		_, err := c.readRaw(wsTimeout)
		var ce wsutil.ClosedError
		if errors.As(err, &ce) {
			if ce.Code != want {
				return fmt.Errorf("closed with %d %q, want %d", ce.Code, ce.Reason, want)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read until the close %d: %w", want, err)
		}
	}
	return errors.New("no close")
}

// wsRun is how far wsReadSeqs got.
type wsRun struct {
	last int64
	err  error
}

// wsReadSeqs reads c's events of room after seq from, each the seq after
// the one before, until the message whose body is marker. It runs on its
// own goroutine, and only looks at the head of each frame (bodies may be
// large).
func wsReadSeqs(c *wsClient, room string, from int64, marker string) wsRun {
	last := from
	for {
		p, err := c.readRaw(wsTimeout)
		if err != nil {
			return wsRun{last, fmt.Errorf("after seq %d: %w", last, err)}
		}
		head := p[:min(len(p), 200)]
		if !bytes.HasPrefix(head, []byte(`{"type":"event"`)) {
			continue
		}
		i := bytes.Index(head, []byte(`"seq":`))
		var seq int64
		if i < 0 || !bytes.Contains(head, []byte(room)) {
			return wsRun{last, fmt.Errorf("event %q: no seq or another room", head)}
		}
		if _, err := fmt.Sscan(string(head[i+6:]), &seq); err != nil || seq != last+1 {
			return wsRun{last, fmt.Errorf("event %q after seq %d: a gap or a repeat", head, last)}
		}
		last = seq
		if bytes.Contains(p, []byte(`"body":"`+marker+`"`)) {
			return wsRun{last, nil}
		}
	}
}
