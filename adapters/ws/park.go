package ws

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	gws "github.com/gobwas/ws"
)

// An idle socket has no reader goroutine. A reader that has waited a
// linger for the next frame parks: it hands the socket to the gateway's
// poller (one epoll set and one goroutine for all sockets, on Linux) and
// returns. The poller starts a fresh reader when bytes, a hang-up or the
// heartbeat deadline come, and the close paths start one to read the
// client's answer. A parked reader costs no stack: a goroutine blocked in
// Read keeps one of at least 4 KB, which the runtime never shrinks while
// the goroutine waits.
//
// The linger keeps a busy socket's reader in Go's own poller, which wakes
// it for the next frame at no extra cost; parking and waking take two
// epoll calls and a goroutine start, ~10 µs of CPU (BenchmarkPingRoundTrip
// with parking after every frame: 43 → 55 µs a round trip). The linger is
// the read deadline the reader sets for each frame anyway, so a busy
// socket pays nothing for it.
//
// state says who owns the read side: a running reader, or the poller.
// Whoever moves it from parked to reading with a compare-and-swap starts
// the next reader, so there is never more than one.
const (
	stateReading int32 = iota
	stateParked
)

// errParked ends a read loop that handed its socket to the poller.
var errParked = errors.New("reader parked")

// errLinger says no frame began within the linger: the reader may park.
var errLinger = errors.New("no frame within the linger")

// maxLinger is how long a reader waits for a frame before parking; a
// heartbeat under four times as long shortens it.
const maxLinger = time.Second

func (c *conn) linger() time.Duration { return min(maxLinger, c.g.cfg.Heartbeat/4) }

// canPark tells whether the socket's reader could hand it to the poller.
func (c *conn) canPark() bool {
	if c.raw == nil || c.g.poll == nil {
		return false
	}
	p, ok := c.nc.(*prefixConn)
	return !ok || len(p.prefix) == 0
}

// waitFrame reads the first two bytes of a frame header into c.hdr. A
// client silent for two heartbeats is closed; a closing socket keeps the
// deadline the close path set. With mayLinger, a parkable socket first
// waits only a linger and reports errLinger when nothing came.
func (c *conn) waitFrame(mayLinger bool) error {
	closed := c.closed.Load()
	lingering := !closed && mayLinger && c.canPark()
	var silentBy time.Time
	if !closed {
		now := time.Now()
		silentBy = now.Add(2 * c.g.cfg.Heartbeat)
		c.readBy.Store(silentBy.UnixNano())
		deadline := silentBy
		if lingering {
			deadline = now.Add(c.linger())
		}
		if err := c.nc.SetReadDeadline(deadline); err != nil {
			return err
		}
	}
	// Only a reader that lingers waits through the buffer: one that waits
	// up to two heartbeats must hold none meanwhile.
	var in io.Reader = c.nc
	if lingering || c.in.buffered() > 0 {
		in = &c.in
	}
	n, err := io.ReadFull(in, c.hdr[:2])
	if lingering {
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			return errLinger
		}
		// A frame has begun: it gets the heartbeat's time, not the linger's.
		if derr := c.nc.SetReadDeadline(silentBy); derr != nil {
			return derr
		}
		if n == 1 && errors.Is(err, os.ErrDeadlineExceeded) {
			_, err = io.ReadFull(in, c.hdr[1:2])
		}
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && !c.closed.Load() {
		return &closeErr{gws.StatusNormalClosure, "heartbeat timeout"}
	}
	return err
}

// rawConnOf returns the descriptor handle a socket can be polled by, or nil
// when its bytes may wait in a buffer of ours that epoll cannot see (TLS).
func rawConnOf(nc net.Conn) syscall.RawConn {
	if p, ok := nc.(*prefixConn); ok {
		nc = p.Conn
	}
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil
	}
	rc, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// tryPark parks the socket's reader when nothing is left to read in user
// space. True means the poller now owns the read side and the calling
// goroutine must return without touching it.
func (c *conn) tryPark() bool {
	if !c.canPark() || c.closed.Load() || c.in.buffered() > 0 {
		return false
	}
	if c.pollKey == 0 {
		c.g.poll.track(c)
	}
	c.g.m.parked.Inc()
	c.state.Store(stateParked)
	// A close that came before the store above found nothing to wake; one
	// that comes after it will find the reader parked and wake it.
	if c.closed.Load() {
		return !c.takeBack()
	}
	if err := c.g.poll.arm(c); err != nil {
		// The socket is going (or epoll failed): read on, and let the
		// read report what happened; never linger again.
		if !c.takeBack() {
			return true
		}
		c.raw = nil
		return false
	}
	return true
}

// takeBack moves a parked socket back to reading: a park that did not
// happen, or a waker's; false if another was faster and a new reader
// already owns the socket.
func (c *conn) takeBack() bool {
	if !c.state.CompareAndSwap(stateParked, stateReading) {
		return false
	}
	c.g.m.parked.Dec()
	return true
}

// wake starts a reader for a parked socket, because bytes came, the socket
// is closing, or (timedOut) the client was silent for two heartbeats. It
// does nothing when a reader runs already.
func (c *conn) wake(timedOut bool) {
	if !c.takeBack() {
		return
	}
	c.timedOut = timedOut // read by the reader started below
	go c.run()
}
