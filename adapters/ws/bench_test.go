package ws

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/gobwas/ws/wsutil"
	"github.com/google/uuid"
)

// sinkConn is a socket that takes every write at once and counts frames.
type sinkConn struct {
	net.Conn // nil: only the methods below are used
	writes   *atomic.Int64
}

func (c sinkConn) Write(p []byte) (int, error)    { c.writes.Add(1); return len(p), nil }
func (sinkConn) SetWriteDeadline(time.Time) error { return nil }
func (sinkConn) SetReadDeadline(time.Time) error  { return nil }
func (sinkConn) Close() error                     { return nil }
func (sinkConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

// benchGateway has n live subscribers of one room on sink sockets.
func benchGateway(b testing.TB, n int) (*Gateway, uuid.UUID, *atomic.Int64) {
	chat := newFakeChat()
	g, err := New(Config{Auth: chat, Commands: chat, Rooms: chat, History: chat, Node: "bench",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	room := uuid.New()
	writes := new(atomic.Int64)
	for i := 0; i < n; i++ {
		c := &conn{g: g, nc: sinkConn{writes: writes}, user: domain.UserRef{ID: uuid.New(), Username: "u"}}
		c.flushFn = c.flush
		s := &sub{c: c, room: room, live: true}
		g.addSub(s)
	}
	return g, room, writes
}

// BenchmarkFanout is one room event to 1,000 local subscribers, writes
// included: the frame is wrapped once, and queueing it for each socket,
// starting that socket's writer and writing must not allocate.
func BenchmarkFanout(b *testing.B) {
	const subscribers = 1000
	g, room, writes := benchGateway(b, subscribers)
	payload := fmt.Appendf(nil, `{"type":"event","room":%q,"seq":1,"kind":"message_posted","at":"2026-11-28T10:42:44.123Z","actor":{"id":%q,"username":"alice"},"data":{"id":%q,"body":"hello, room","client_id":%q}}`,
		room, uuid.New(), uuid.New(), uuid.New())
	updates := []projections.Update{{Kind: projections.UpdateRoomEvent, Room: room, Frame: payload}}
	deliver := func(seq int64) {
		updates[0].Seq = seq
		g.Deliver(updates)
		for writes.Load() < seq*subscribers {
			runtime.Gosched()
		}
	}
	deliver(1) // warm the queues and the goroutine free list
	seq := int64(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		seq++
		deliver(seq)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*subscribers)/b.Elapsed().Seconds(), "deliveries/s")
}

func BenchmarkDecodeFrame(b *testing.B) {
	frame := []byte(`{"type":"send","ref":"r-42","room":"0192f3a4-5b6c-7d8e-9f00-112233445566","client_id":"0192f3a4-5b6c-7d8e-9f00-aabbccddeeff","body":"hello, room: how is everyone today?"}`)
	var f clientFrame
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for i := 0; i < b.N; i++ {
		if err := decodeFrame(frame, &f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPingRoundTrip is one client's ping and pong over loopback TCP:
// the cost of a socket's reader waking for a frame (from epoll, where it
// parks between frames) and answering it.
func BenchmarkPingRoundTrip(b *testing.B) {
	chat := newFakeChat()
	g, err := New(Config{Auth: chat, Commands: chat, Rooms: chat, History: chat, Node: "bench",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	chat.run(g)
	defer chat.stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = g.Serve(ln) }()
	defer func() { _ = g.Shutdown(context.Background()) }()
	_, token := chat.addUser("pinger")
	nc, rw, err := dialWS(context.Background(), "ws://"+ln.Addr().String()+"/ws", bearer(token))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	if _, err := wsutil.ReadServerText(rw); err != nil { // hello
		b.Fatal(err)
	}
	var ping bytes.Buffer
	if err := wsutil.WriteClientText(&ping, []byte(`{"type":"ping"}`)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := nc.Write(ping.Bytes()); err != nil {
			b.Fatal(err)
		}
		if _, err := wsutil.ReadServerText(rw); err != nil {
			b.Fatal(err)
		}
	}
}
