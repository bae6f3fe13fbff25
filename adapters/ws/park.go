package ws

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// An idle socket has no reader goroutine. Between messages its reader
// parks: it hands the socket to the gateway's poller (one epoll set and
// one goroutine for all sockets, on Linux) and returns. The poller starts
// a fresh reader when bytes, a hang-up or the heartbeat deadline come, and
// the close paths start one to read the client's answer. A parked reader
// costs no stack: a goroutine blocked in Read keeps one of at least 4 KB,
// which the runtime never shrinks while the goroutine is parked.
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
	if c.raw == nil || c.g.poll == nil || c.closed.Load() {
		return false
	}
	if p, ok := c.nc.(*prefixConn); ok && len(p.prefix) > 0 {
		return false
	}
	if c.pollKey == 0 {
		c.g.poll.track(c)
	}
	c.readBy.Store(time.Now().Add(2 * c.g.cfg.Heartbeat).UnixNano())
	c.g.m.parked.Inc()
	c.state.Store(stateParked)
	// A close that came before the store above found nothing to wake; one
	// that comes after it will find the reader parked and wake it.
	if c.closed.Load() {
		return !c.takeBack()
	}
	if err := c.g.poll.arm(c); err != nil {
		// The socket is going (or epoll failed): read on, and let the
		// read report what happened.
		return !c.takeBack()
	}
	return true
}

// takeBack undoes a park that did not happen; false if a waker was faster
// and a new reader already owns the socket.
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
	if !c.state.CompareAndSwap(stateParked, stateReading) {
		return
	}
	c.g.m.parked.Dec()
	c.timedOut = timedOut // read by the reader started below
	go c.run()
}
