package ws

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws/wsutil"
)

// chunkConn returns its chunks one Read at a time, then EOF, and counts
// the reads.
type chunkConn struct {
	net.Conn
	chunks [][]byte
	reads  int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	c.reads++
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

func TestInbuf(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 2*inbufSize)
	nc := &chunkConn{chunks: [][]byte{[]byte("headerbody"), []byte("ab"), big}}
	in := inbuf{nc: nc}
	var hdr [6]byte
	if _, err := io.ReadFull(&in, hdr[:]); err != nil || string(hdr[:]) != "header" {
		t.Fatalf("header = %q, %v", hdr, err)
	}
	if in.buffered() != 4 || in.buf == nil {
		t.Fatalf("after the header: %d buffered", in.buffered())
	}
	body := make([]byte, 6)
	if _, err := io.ReadFull(&in, body); err != nil || string(body) != "bodyab" {
		t.Fatalf("body = %q, %v", body, err)
	}
	if in.buf != nil || nc.reads != 2 {
		t.Fatalf("drained buffer kept (%v) or %d reads, want 2", in.buf != nil, nc.reads)
	}
	large := make([]byte, len(big))
	if _, err := io.ReadFull(&in, large); err != nil || !bytes.Equal(large, big) {
		t.Fatalf("large read: %v", err)
	}
	if in.buf != nil {
		t.Fatal("a read larger than the buffer went through it")
	}
	if _, err := in.Read(hdr[:]); err != io.EOF || in.buf != nil {
		t.Fatalf("at the end: %v, buffer kept %v", err, in.buf != nil)
	}
}

// TestPipelinedFrames: frames that arrive in one segment are all answered,
// in order, though the later ones wait in the read buffer rather than in
// the socket, and the socket parks once they are done.
func TestPipelinedFrames(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Heartbeat = 400 * time.Millisecond }) // a 100 ms linger
	alice := h.user("alice")
	for round := range 2 {
		var burst bytes.Buffer
		for i := range 5 {
			if err := wsutil.WriteClientText(&burst, fmt.Appendf(nil, `{"type":"ping","ref":"%d-%d"}`, round, i)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := alice.nc.Write(burst.Bytes()); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if m := alice.expect("pong"); m["ref"] != fmt.Sprintf("%d-%d", round, i) {
				t.Fatalf("pong %d = %v", i, m)
			}
		}
		waitParked(t, h, 1)
	}
}
