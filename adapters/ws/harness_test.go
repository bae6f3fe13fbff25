package ws

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	gws "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

type harness struct {
	t    *testing.T
	chat *fakeChat
	gw   *Gateway
	srv  *httptest.Server
	url  string // ws:// URL of the HTTP route
	raw  string // ws:// URL of the gateway's own listener (ServeConn)
	reg  *prometheus.Registry
}

func newHarness(t *testing.T, tune func(*Config)) *harness {
	t.Helper()
	chat := newFakeChat()
	reg := prometheus.NewRegistry()
	cfg := Config{Auth: chat, Commands: chat, Rooms: chat, History: chat, Node: "test-node",
		PresenceGrace: 100 * time.Millisecond, CloseTimeout: 500 * time.Millisecond, WriteTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: reg}
	if tune != nil {
		tune(&cfg)
	}
	gw, err := New(cfg)
	if err != nil {
		t.Fatalf("new gateway: %v", err)
	}
	chat.run(gw)
	srv := httptest.NewServer(gw)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	go func() {
		// A short test may shut the gateway down before Serve starts.
		if err := gw.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	h := &harness{t: t, chat: chat, gw: gw, srv: srv, reg: reg,
		url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", raw: "ws://" + ln.Addr().String() + "/ws"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := gw.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
		chat.stop()
	})
	return h
}

// client is a test WebSocket client speaking PROTOCOL.md.
type client struct {
	t    testing.TB
	nc   net.Conn
	rw   io.ReadWriter
	sess Session
	// presence frames arrive whenever users connect; tests that do not
	// look at them skip them.
	presence bool
}

func dialWS(ctx context.Context, url string, header http.Header) (net.Conn, io.ReadWriter, error) {
	d := gws.Dialer{Header: gws.HandshakeHeaderHTTP(header), Timeout: 5 * time.Second}
	nc, br, _, err := d.Dial(ctx, url)
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

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// connect dials with a bearer token and reads the hello frame.
func (h *harness) connect(sess Session, token string) *client {
	h.t.Helper()
	nc, rw, err := dialWS(context.Background(), h.url, bearer(token))
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	c := &client{t: h.t, nc: nc, rw: rw, sess: sess}
	h.t.Cleanup(func() { _ = nc.Close() })
	hello := c.read()
	if hello["type"] != "hello" {
		h.t.Fatalf("first frame %v, want hello", hello)
	}
	return c
}

// user registers a user and connects them.
func (h *harness) user(name string) *client {
	h.t.Helper()
	sess, token := h.chat.addUser(name)
	return h.connect(sess, token)
}

func (c *client) id() uuid.UUID { return c.sess.User.ID }

func (c *client) ref() domain.UserRef {
	return domain.UserRef{ID: c.sess.User.ID, Username: c.sess.User.Username}
}

func (c *client) send(frame string) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.nc, []byte(frame)); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

func (c *client) sendJSON(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatalf("encode frame: %v", err)
	}
	c.send(string(b))
}

// readRaw reads the next data frame, or the server's close as a
// wsutil.ClosedError. It answers pings and closes itself: wsutil refuses
// close codes RFC 6455 does not list, such as 1013.
func (c *client) readRaw(timeout time.Duration) ([]byte, error) {
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

// read returns the next frame as a JSON object.
func (c *client) read() map[string]any {
	c.t.Helper()
	for {
		p, err := c.readRaw(5 * time.Second)
		if err != nil {
			c.t.Fatalf("read frame: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(p, &m); err != nil {
			c.t.Fatalf("frame %q: %v", p, err)
		}
		if m["type"] != "presence" || c.presence {
			return m
		}
	}
}

// expect reads the next frame and checks its type.
func (c *client) expect(typ string) map[string]any {
	c.t.Helper()
	m := c.read()
	if m["type"] != typ {
		c.t.Fatalf("got frame %v, want type %q", m, typ)
	}
	return m
}

// expectClose reads until the server's close frame and checks its code.
func (c *client) expectClose(code gws.StatusCode) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, err := c.readRaw(time.Until(deadline))
		var ce wsutil.ClosedError
		if errors.As(err, &ce) {
			if ce.Code != code {
				c.t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Reason, code)
			}
			return
		}
		if err != nil {
			c.t.Fatalf("read until close %d: %v", code, err)
		}
	}
	c.t.Fatalf("no close %d", code)
}

// sync sends a ping and expects the pong next: every frame the server
// queued before it has been read.
func (c *client) sync() {
	c.t.Helper()
	c.send(`{"type":"ping","ref":"sync"}`)
	m := c.read()
	if m["type"] != "pong" || m["ref"] != "sync" {
		c.t.Fatalf("got %v, want the pong of sync", m)
	}
}

func (c *client) subscribe(room uuid.UUID, after *int64) map[string]any {
	c.t.Helper()
	f := map[string]any{"type": "subscribe", "room": room, "ref": "sub"}
	if after != nil {
		f["after"] = *after
	}
	c.sendJSON(f)
	m := c.expect("subscribed")
	if m["ref"] != "sub" || m["room"] != room.String() {
		c.t.Fatalf("subscribed %v", m)
	}
	return m
}

func seqOf(m map[string]any) int64 {
	n, _ := m["seq"].(float64)
	return int64(n)
}

func ptr[T any](v T) *T { return &v }

// counterValue reads a counter or gauge.
func counterValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatalf("read metric: %v", err)
	}
	if out.Counter != nil {
		return out.Counter.GetValue()
	}
	return out.Gauge.GetValue()
}
