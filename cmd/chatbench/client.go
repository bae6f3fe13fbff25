package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// epoch anchors every timestamp the bench puts in a message body, so
// latencies come from the monotonic clock of this one process.
var epoch = time.Now()

func monoNow() int64 { return int64(time.Since(epoch)) }

// ackRing bounds the sends a client may have awaiting their ack; the send
// time of send n lives at n&(ackRing-1).
const ackRing = 1 << 12

// metrics are shared by every client of a run; all fields are safe for
// concurrent use.
type metrics struct {
	ack, e2e   hist
	sent       atomic.Int64
	acks       atomic.Int64
	deliveries atomic.Int64 // message events received, duplicates excluded
	sendErrors atomic.Int64 // error frames answering a send
	errFrames  atomic.Int64
	badFrames  atomic.Int64 // frames the bench could not parse
	foreign    atomic.Int64 // events of a room the client did not subscribe to
	truncated  atomic.Int64 // resumes the server cut at its replay limit
	filled     atomic.Int64 // messages paged over HTTP after such a cut
	skipped    atomic.Int64 // pacing tokens dropped: no connection or too many in flight
	drops      atomic.Int64 // connections the server (or the network) ended
	logged     atomic.Int32
	// heartbeatMS is the shortest heartbeat a server announced in its
	// hello (0: no hello yet), which paces the fleet's pings.
	heartbeatMS atomic.Int64
}

// sawHeartbeat records a heartbeat a server announced, keeping the
// shortest.
func (m *metrics) sawHeartbeat(ms int64) {
	for {
		cur := m.heartbeatMS.Load()
		if (cur != 0 && cur <= ms) || m.heartbeatMS.CompareAndSwap(cur, ms) {
			return
		}
	}
}

// logOnce logs only the first few of many similar problems.
func (m *metrics) logSome(msg string, args ...any) {
	if m.logged.Add(1) <= 10 {
		slog.Warn(msg, args...)
	}
}

// client is one WebSocket connection subscribed to one room. It may be
// re-dialled (storm); the tracker then spans every connection it had.
type client struct {
	idx    int
	wsURL  string
	local  *net.TCPAddr
	header ws.HandshakeHeader
	roomID []byte
	m      *metrics
	track  seqTracker

	mu     sync.Mutex // guards conn and the write buffers
	conn   net.Conn
	pbuf   []byte
	wbuf   []byte
	rng    uint64
	prefix []byte // `{"type":"send","room":"…","ref":"`

	cid      [16]byte       // random; bytes 10..15 carry the send counter
	nextN    int64          // sender goroutine only
	sentAt   []atomic.Int64 // ackRing entries, senders only: idle clients stay small
	inflight atomic.Int64
	acked    []int64 // seqs of acked sends; reader goroutine only
	maxAcked atomic.Int64

	rbufSize int
	api      *api   // pages history after a truncated resume
	token    string // the user's, for api
	fills    sync.WaitGroup
	resumeAt atomic.Int64 // the after of the current subscription
	done     chan error   // the current connection's reader result
	subErr   chan error   // the current connection's subscribe result
	closing  atomic.Bool
	subAt    atomic.Int64 // monoNow of the last subscribed frame
}

func newClient(idx int, wsURL string, local *net.TCPAddr, header ws.HandshakeHeader, roomID string, m *metrics, rbuf int) *client {
	c := &client{idx: idx, wsURL: wsURL, local: local, header: header, roomID: []byte(roomID), m: m, rbufSize: rbuf}
	if _, err := rand.Read(c.cid[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // the runtime guarantees it never fails
	}
	c.cid[6] = c.cid[6]&0x0f | 0x40 // version 4
	c.cid[8] = c.cid[8]&0x3f | 0x80 // RFC 4122 variant
	c.rng = uint64(idx)*0x9E3779B97F4A7C15 | 1
	c.prefix = fmt.Appendf(nil, `{"type":"send","room":%q,"ref":"`, roomID)
	return c
}

// connect dials, subscribes (resuming after the last contiguous seq when the
// client has subscribed before) and waits for the subscribed reply.
func (c *client) connect(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := ws.Dialer{
		Timeout: timeout,
		Header:  c.header,
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return newDialer(c.local, timeout).DialContext(ctx, network, addr)
		},
	}
	conn, br, _, err := d.Dial(ctx, c.wsURL)
	if err != nil {
		return fmt.Errorf("dial %s: %w", c.wsURL, err)
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, c.rbufSize)
	}
	done, subErr := make(chan error, 1), make(chan error, 1)
	c.mu.Lock()
	c.conn, c.done, c.subErr = conn, done, subErr
	c.inflight.Store(0)
	c.mu.Unlock()
	c.closing.Store(false)
	go c.readLoop(conn, br, done, subErr)

	sub := fmt.Appendf(nil, `{"type":"subscribe","room":%q,"ref":"sub"`, c.roomID)
	c.resumeAt.Store(-1)
	if c.track.started {
		c.resumeAt.Store(c.track.resumeAfter())
		sub = fmt.Appendf(sub, `,"after":%d`, c.resumeAt.Load())
	}
	sub = append(sub, '}')
	if err := c.write(opText, sub); err != nil {
		c.close()
		return fmt.Errorf("subscribe: %w", err)
	}
	select {
	case err := <-subErr:
		if err != nil {
			c.close()
			return fmt.Errorf("subscribe: %w", err)
		}
		return nil
	case <-ctx.Done():
		c.close()
		return fmt.Errorf("subscribe: %w", ctx.Err())
	}
}

// close ends the current connection and waits for its reader, so the
// tracker and acked may be read afterwards. A reader that already ended has
// cleared conn itself.
func (c *client) close() {
	c.mu.Lock()
	conn, done := c.conn, c.done
	c.conn = nil
	c.mu.Unlock()
	if conn == nil {
		return
	}
	c.closing.Store(true)
	_ = conn.Close() // the reader's error reports anything that matters
	<-done
	c.fills.Wait()
}

// write sends one frame; it reports net.ErrClosed when there is no connection.
func (c *client) write(op byte, payload []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeLocked(op, payload)
}

func (c *client) writeLocked(op byte, payload []byte) error {
	if c.conn == nil {
		return net.ErrClosed
	}
	c.rng ^= c.rng << 13
	c.rng ^= c.rng >> 7
	c.rng ^= c.rng << 17
	mask := [4]byte{byte(c.rng), byte(c.rng >> 8), byte(c.rng >> 16), byte(c.rng >> 24)}
	c.wbuf = appendClientFrame(c.wbuf[:0], op, payload, mask)
	if err := c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	if _, err := c.conn.Write(c.wbuf); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

// enableSending gives the client its ring of send times.
func (c *client) enableSending() { c.sentAt = make([]atomic.Int64, ackRing) }

// send posts one message whose body carries its send time, padded to size
// bytes. It returns false without sending when the client has no connection
// or too many sends await their ack.
func (c *client) send(size int) (bool, error) {
	if c.inflight.Load() >= ackRing-1 {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return false, nil
	}
	n := c.nextN
	c.nextN++
	now := monoNow()
	p := append(c.pbuf[:0], c.prefix...)
	p = strconv.AppendInt(p, n, 10)
	p = append(p, `","client_id":"`...)
	p = c.appendClientID(p, n)
	p = append(p, `","body":"t=`...)
	bodyStart := len(p) - 2
	p = strconv.AppendInt(p, now, 10)
	p = append(p, ' ')
	for len(p)-bodyStart < size {
		p = append(p, 'x')
	}
	p = append(p, `"}`...)
	c.pbuf = p
	c.sentAt[n&(ackRing-1)].Store(now)
	c.inflight.Add(1)
	if err := c.writeLocked(opText, p); err != nil {
		c.inflight.Add(-1)
		return false, err
	}
	c.m.sent.Add(1)
	return true, nil
}

const hexDigits = "0123456789abcdef"

func (c *client) appendClientID(p []byte, n int64) []byte {
	id := c.cid
	for i := 15; i >= 10; i-- {
		id[i] = byte(n)
		n >>= 8
	}
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			p = append(p, '-')
		}
		p = append(p, hexDigits[b>>4], hexDigits[b&0x0f])
	}
	return p
}

// ping keeps an idle connection inside the server's heartbeat window.
func (c *client) ping() error { return c.write(opText, []byte(`{"type":"ping"}`)) }
