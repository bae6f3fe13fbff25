package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

const roomA = "0190b6a4-7c2e-7d1a-8f00-000000000001"

func TestParseFrameReadsTheProtocolFrames(t *testing.T) {
	ev := `{"type":"event","room":"` + roomA + `","seq":42,"kind":"message_posted","at":"2026-11-28T10:42:44.123Z",` +
		`"actor":{"id":"u1","username":"ann"},"data":{"id":"m1","body":"t=123 say \"seq\":7 {[","client_id":"c1"}}`
	var f frame
	if err := parseFrame([]byte(ev), &f); err != nil {
		t.Fatal(err)
	}
	if string(unquote(f.typ)) != "event" || string(unquote(f.room)) != roomA || atoi(f.seq) != 42 {
		t.Fatalf("type %s room %s seq %s", f.typ, f.room, f.seq)
	}
	if body := unquote(objField(f.data, "body")); string(body) != `t=123 say \"seq\":7 {[` {
		t.Fatalf("body %s", body)
	}

	ack := ` { "type" : "ack", "ref":"17", "room":"` + roomA + `", "client_id":"x", "id":"m", "seq": 9, "sent_at":"t" } `
	if err := parseFrame([]byte(ack), &f); err != nil {
		t.Fatal(err)
	}
	if string(unquote(f.typ)) != "ack" || atoi(f.ref) != 17 || atoi(f.seq) != 9 || f.data != nil {
		t.Fatalf("ack parsed as %+v", f)
	}

	sub := `{"type":"subscribed","room":"r","head":0,"truncated":true,"ref":"sub"}`
	if err := parseFrame([]byte(sub), &f); err != nil {
		t.Fatal(err)
	}
	if atoi(f.head) != 0 || string(f.truncated) != "true" || string(unquote(f.ref)) != "sub" {
		t.Fatalf("subscribed parsed as %+v", f)
	}
}

func TestParseFrameHandlesEscapes(t *testing.T) {
	for _, s := range []string{`{"x":"a\\","type":"ack"}`, `{"x":"a\"\\\\","type":"ack"}`, `{"x":{"y":"}\""},"type":"ack"}`} {
		var f frame
		if err := parseFrame([]byte(s), &f); err != nil || string(unquote(f.typ)) != "ack" {
			t.Errorf("%s: type %s err %v", s, f.typ, err)
		}
	}
}

func TestParseFrameRejectsMalformed(t *testing.T) {
	for _, s := range []string{``, `[]`, `{"type"}`, `{"type":"x"`, `{"a":"unterminated}`, `{"a":{"b":1}`, `{"a":1 "b":2}`} {
		var f frame
		if err := parseFrame([]byte(s), &f); err == nil {
			t.Errorf("%q parsed without error", s)
		}
	}
	if err := parseFrame([]byte(`{}`), new(frame)); err != nil {
		t.Errorf("empty object: %v", err)
	}
}

func TestAtoi(t *testing.T) {
	for in, want := range map[string]int64{`12`: 12, `"7"`: 7, `0`: 0, ``: -1, `-1`: -1, `1.5`: -1, `"sub"`: -1, `null`: -1} {
		if got := atoi([]byte(in)); got != want {
			t.Errorf("atoi(%s) = %d, want %d", in, got, want)
		}
	}
}

// The server side of gobwas must read what the bench writes: masked, any size.
func TestClientFramesAreValidMaskedFrames(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 70000} {
		payload := bytes.Repeat([]byte("ab"), n/2+1)[:n]
		raw := appendClientFrame(nil, opText, payload, [4]byte{1, 2, 3, 4})
		got, op, err := wsutil.ReadClientData(rw{bytes.NewReader(raw)})
		if err != nil || op != ws.OpText || !bytes.Equal(got, payload) {
			t.Fatalf("size %d: op %v err %v equal %v", n, op, err, bytes.Equal(got, payload))
		}
	}
}

type rw struct{ io.Reader }

func (rw) Write(p []byte) (int, error) { return len(p), nil }

func TestFrameReaderReassemblesAndSurfacesControlFrames(t *testing.T) {
	var buf bytes.Buffer
	w := wsutil.NewWriterBufferSize(&buf, ws.StateServerSide, ws.OpText, 16)
	long := strings.Repeat("x", 100)
	if _, err := w.Write([]byte(`{"type":"hello","pad":"` + long + `"}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	must(t, ws.WriteFrame(&buf, ws.NewPingFrame([]byte("hi"))))
	must(t, ws.WriteFrame(&buf, ws.NewTextFrame(make([]byte, 70000))))
	must(t, ws.WriteFrame(&buf, ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusCode(1013), "slow"))))

	fr := frameReader{br: bufio.NewReaderSize(&buf, 64)}
	op, p, err := fr.next()
	if err != nil || op != opText || !strings.Contains(string(p), long) {
		t.Fatalf("fragmented text: op %d err %v payload %q", op, err, p)
	}
	op, p, err = fr.next()
	if err != nil || op != opPing || string(p) != "hi" {
		t.Fatalf("ping: op %d err %v payload %q", op, err, p)
	}
	op, p, err = fr.next()
	if err != nil || op != opText || len(p) != 70000 {
		t.Fatalf("large: op %d err %v len %d", op, err, len(p))
	}
	op, p, err = fr.next()
	if err != nil || op != opClose || int(p[0])<<8|int(p[1]) != 1013 {
		t.Fatalf("close: op %d err %v payload %q", op, err, p)
	}
	if _, _, err := fr.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// discardConn is a net.Conn whose writes vanish, to measure the send path.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

// The per-message paths must not allocate: at 200,000 deliveries/s on two
// cores the bench would otherwise measure its own garbage collector.
func TestPerMessagePathsDoNotAllocate(t *testing.T) {
	c := newClient(0, "ws://127.0.0.1:1/ws", nil, nil, roomA, &metrics{}, 4096)
	c.conn = discardConn{}
	c.enableSending()
	c.track.start(0)
	c.acked = make([]int64, 0, 4096)
	sends := testing.AllocsPerRun(1000, func() {
		if _, err := c.send(200); err != nil {
			t.Fatal(err)
		}
	})
	var seq int64
	var f frame
	ev := []byte(`{"type":"event","room":"` + roomA + `","seq":000000001,"kind":"message_posted","at":"2026-11-28T10:42:44.123Z","actor":{"id":"u","username":"a"},"data":{"id":"m","body":"t=5 xx","client_id":"c"}}`)
	ack := []byte(`{"type":"ack","ref":"1","room":"` + roomA + `","client_id":"c","id":"m","seq":1,"sent_at":"t"}`)
	recv := testing.AllocsPerRun(1000, func() {
		seq++
		digits := ev[bytes.Index(ev, []byte(`"seq":`))+6:][:9]
		for i, s := 8, seq; i >= 0; i, s = i-1, s/10 {
			digits[i] = byte('0' + s%10)
		}
		c.handle(ev, &f, nil)
		c.handle(ack, &f, nil)
	})
	if sends != 0 || recv != 0 {
		t.Fatalf("allocations per send %.2f, per event+ack %.2f", sends, recv)
	}
	if c.track.dups != 0 || c.m.deliveries.Load() != 1001 {
		t.Fatalf("dups %d deliveries %d", c.track.dups, c.m.deliveries.Load())
	}
}

func TestClientIDsAreUniqueUUIDs(t *testing.T) {
	c := newClient(0, "", nil, nil, roomA, &metrics{}, 0)
	a := string(c.appendClientID(nil, 1))
	b := string(c.appendClientID(nil, 256))
	if a == b || len(a) != 36 || a[14] != '4' || strings.Count(a, "-") != 4 {
		t.Fatalf("client ids %s %s", a, b)
	}
}

func BenchmarkHandleEvent(b *testing.B) {
	c := newClient(0, "", nil, nil, roomA, &metrics{}, 4096)
	c.track.start(0)
	ev := []byte(`{"type":"event","room":"` + roomA + `","seq":000000001,"kind":"message_posted","at":"2026-11-28T10:42:44.123Z","actor":{"id":"0190b6a4-7c2e-7d1a-8f00-000000000002","username":"bench-1"},"data":{"id":"0190b6a4-7c2e-7d1a-8f00-000000000003","body":"t=5 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","client_id":"0190b6a4-7c2e-4d1a-8f00-000000000004"}}`)
	digits := ev[bytes.Index(ev, []byte(`"seq":`))+6:][:9]
	var f frame
	b.ReportAllocs()
	b.SetBytes(int64(len(ev)))
	for i := 1; b.Loop(); i++ {
		for j, s := 8, i; j >= 0; j, s = j-1, s/10 {
			digits[j] = byte('0' + s%10)
		}
		c.handle(ev, &f, nil)
	}
}

func BenchmarkSend(b *testing.B) {
	c := newClient(0, "", nil, nil, roomA, &metrics{}, 4096)
	c.conn = discardConn{}
	c.enableSending()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.send(64); err != nil {
			b.Fatal(err)
		}
		c.inflight.Store(0)
	}
}
