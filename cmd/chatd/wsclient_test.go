package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	gws "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// wsClient is a test WebSocket client of a running chatd, speaking
// PROTOCOL.md "The socket" as a bot would (bearer token, no Origin).
type wsClient struct {
	t     testing.TB
	nc    net.Conn
	rw    io.ReadWriter
	hello map[string]any
	// keep lists the frame types read returns; every other type (presence,
	// typing and read frames, which arrive whenever others act) is set
	// aside in skipped. Tests about those frames add them to keep.
	keep    map[string]bool
	skipped []map[string]any
	// early holds frames read while looking for a reply (an event may
	// overtake the ack of the command that caused it); read returns them
	// first.
	early []map[string]any
}

// wsURL is the ws:// URL of a chatd's socket.
func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/ws" }

// wsDial opens a socket with token as bearer and no Origin; it returns
// the connection and a reader that includes what the handshake buffered.
func wsDial(ctx context.Context, base, token string) (net.Conn, io.ReadWriter, error) {
	d := gws.Dialer{Timeout: 5 * time.Second,
		Header: gws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + token}})}
	nc, br, _, err := d.Dial(ctx, wsURL(base))
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader = nc
	if br != nil {
		r = io.MultiReader(br, nc)
	}
	return nc, struct {
		io.Reader
		io.Writer
	}{r, nc}, nil
}

// ws connects to n with token and reads the hello frame.
func (n *node) ws(token string) *wsClient {
	n.t.Helper()
	return wsConnect(n.t, n.URL, token)
}

func wsConnect(t testing.TB, base, token string) *wsClient {
	t.Helper()
	nc, rw, err := wsDial(context.Background(), base, token)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL(base), err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	c := &wsClient{t: t, nc: nc, rw: rw, keep: map[string]bool{}}
	c.hello = c.read()
	if c.hello["type"] != "hello" {
		t.Fatalf("first frame %v, want hello", c.hello)
	}
	return c
}

// watch makes read return frames of these types too.
func (c *wsClient) watch(types ...string) *wsClient {
	for _, typ := range types {
		c.keep[typ] = true
	}
	return c
}

func (c *wsClient) send(frame string) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.nc, []byte(frame)); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

func (c *wsClient) sendJSON(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatalf("encode frame: %v", err)
	}
	c.send(string(b))
}

// readRaw reads the next data message, or the server's close as a
// wsutil.ClosedError. It answers pings and the close itself: wsutil
// refuses codes RFC 6455 does not list, such as 4001.
func (c *wsClient) readRaw(timeout time.Duration) ([]byte, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
	var msg []byte
	for {
		h, err := gws.ReadHeader(c.rw)
		if err != nil {
			return nil, err
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c.rw, p); err != nil {
			return nil, err
		}
		switch h.OpCode {
		case gws.OpClose:
			var ce wsutil.ClosedError
			if len(p) >= 2 {
				ce.Code, ce.Reason = gws.StatusCode(binary.BigEndian.Uint16(p)), string(p[2:])
			}
			_ = gws.WriteFrame(c.nc, gws.MaskFrame(gws.NewCloseFrame(p)))
			return nil, ce
		case gws.OpPing:
			_ = gws.WriteFrame(c.nc, gws.MaskFrame(gws.NewPongFrame(p)))
		case gws.OpPong:
		default:
			msg = append(msg, p...)
			if h.Fin {
				return msg, nil
			}
		}
	}
}

// readAny returns the next frame of any type.
func (c *wsClient) readAny(timeout time.Duration) map[string]any {
	c.t.Helper()
	p, err := c.readRaw(timeout)
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		c.t.Fatalf("frame %q is not a JSON object: %v", p, err)
	}
	return m
}

// read returns the next frame that is not set aside (see keep).
func (c *wsClient) read() map[string]any {
	c.t.Helper()
	for {
		var m map[string]any
		if len(c.early) > 0 {
			m, c.early = c.early[0], c.early[1:]
		} else {
			m = c.readAny(10 * time.Second)
		}
		switch m["type"] {
		case "presence", "typing", "read":
			if !c.keep[m["type"].(string)] {
				c.skipped = append(c.skipped, m)
				continue
			}
		}
		return m
	}
}

// expect reads the next frame and checks its type.
func (c *wsClient) expect(typ string) map[string]any {
	c.t.Helper()
	m := c.read()
	if m["type"] != typ {
		c.t.Fatalf("got frame %v, want type %q", m, typ)
	}
	return m
}

// reply reads until the ack or error with ref, which it returns; other
// frames read meanwhile are kept for read, in order.
func (c *wsClient) reply(ref string) map[string]any {
	c.t.Helper()
	var before []map[string]any
	defer func() { c.early = append(before, c.early...) }()
	for range 1000 {
		m := c.read()
		if (m["type"] == "ack" || m["type"] == "error") && m["ref"] == ref {
			return m
		}
		before = append(before, m)
	}
	c.t.Fatalf("no reply to %s in 1000 frames", ref)
	return nil
}

// waitFor reads until a frame satisfies match, within 15 s; frames before
// it are dropped.
func (c *wsClient) waitFor(what string, match func(map[string]any) bool) map[string]any {
	c.t.Helper()
	for len(c.early) > 0 {
		m := c.early[0]
		c.early = c.early[1:]
		if match(m) {
			return m
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		p, err := c.readRaw(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		var m map[string]any
		if err := json.Unmarshal(p, &m); err != nil {
			c.t.Fatalf("frame %q: %v", p, err)
		}
		if match(m) {
			return m
		}
	}
	c.t.Fatalf("no %s within 15 s", what)
	return nil
}

// closeCode reads until the server closes and returns its close code.
func (c *wsClient) closeCode() gws.StatusCode {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		_, err := c.readRaw(time.Until(deadline))
		var ce wsutil.ClosedError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			c.t.Fatalf("read until the close: %v", err)
		}
	}
	c.t.Fatal("the server did not close the socket")
	return 0
}

// expectClose reads until the server's close frame and checks its code.
func (c *wsClient) expectClose(code gws.StatusCode) {
	c.t.Helper()
	if got := c.closeCode(); got != code {
		c.t.Fatalf("closed with %d, want %d", got, code)
	}
}

// sync sends a ping and expects its pong next: every frame the server
// queued before it has been read.
func (c *wsClient) sync() {
	c.t.Helper()
	c.send(`{"type":"ping","ref":"sync"}`)
	if m := c.read(); m["type"] != "pong" || m["ref"] != "sync" {
		c.t.Fatalf("got %v, want the pong of sync", m)
	}
}

// subscribe subscribes to room (replaying after *after when not nil) and
// returns the subscribed frame.
func (c *wsClient) subscribe(room string, after *int64) map[string]any {
	c.t.Helper()
	f := map[string]any{"type": "subscribe", "room": room, "ref": "sub"}
	if after != nil {
		f["after"] = *after
	}
	c.sendJSON(f)
	m := c.expect("subscribed")
	if m["ref"] != "sub" || m["room"] != room {
		c.t.Fatalf("subscribed %v, want ref sub and room %s", m, room)
	}
	return m
}

// post sends a message and returns its ack.
func (c *wsClient) post(room, clientID, body string) map[string]any {
	c.t.Helper()
	c.sendJSON(map[string]any{"type": "send", "ref": clientID, "room": room, "client_id": clientID, "body": body})
	ack := c.reply(clientID)
	if ack["type"] != "ack" || ack["client_id"] != clientID || ack["room"] != room {
		c.t.Fatalf("ack %v does not answer send %s", ack, clientID)
	}
	return ack
}

// event reads the next room event and checks its room, seq and kind.
func (c *wsClient) event(room string, seq int64, kind string) map[string]any {
	c.t.Helper()
	m := c.expect("event")
	if m["room"] != room || wsSeq(m) != seq || m["kind"] != kind {
		c.t.Fatalf("event %v, want %s seq %d in %s", m, kind, seq, room)
	}
	return m
}

// wsSeq is the seq (or head) of a frame.
func wsSeq(m map[string]any) int64 {
	if v, ok := m["seq"].(float64); ok {
		return int64(v)
	}
	v, _ := m["head"].(float64)
	return int64(v)
}

// wsData is the data object of an event frame.
func wsData(m map[string]any) map[string]any {
	d, _ := m["data"].(map[string]any)
	return d
}

func wsPtr[T any](v T) *T { return &v }

// wsTimeout bounds one read of the goroutine-safe helpers.
const wsTimeout = 10 * time.Second

// gwsWriteText writes a text frame, reporting instead of failing (for
// helpers that run on their own goroutines).
func gwsWriteText(c *wsClient, frame string) error {
	if err := wsutil.WriteClientText(c.nc, []byte(frame)); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}
