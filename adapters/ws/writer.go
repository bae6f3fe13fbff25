package ws

import (
	"net"
	"strconv"
	"time"

	gws "github.com/gobwas/ws"
)

// The outgoing side of a socket is a bounded queue of complete frames and a
// writer goroutine that exists only while the queue is not empty: an idle
// socket has no writer stack and no write buffer, and a socket that cannot
// keep up only ever blocks its own writer. Frames are shared, immutable
// byte slices, so queueing one costs a slice header, not a copy.

// maxIdleQueue is the queue capacity an idle socket keeps for its next
// burst; anything larger is released when the queue drains.
const maxIdleQueue = 16

// maxWriteBatch caps the frames one write takes off the queue. Delivery
// batches average under ten frames per socket; the cap only bites on a
// socket that fell behind.
const maxWriteBatch = 64

// push queues a frame; it reports false if the socket is closing.
func (c *conn) push(frame []byte) bool {
	c.mu.Lock()
	ok := c.pushLocked(frame)
	c.mu.Unlock()
	return ok
}

// pushLocked queues frame, starting a writer if none runs. A full queue
// closes the socket with 1013: the client resumes with `after`.
func (c *conn) pushLocked(frame []byte) bool { return c.queueLocked(frame, nil) }

// queueLocked is pushLocked; with later set, a writer this frame needs is
// not started but added to *later, for the caller to start once it has
// queued everything it has for the socket: the frames then leave in one
// write instead of one each (system calls are most of a socket's cost).
func (c *conn) queueLocked(frame []byte, later *[]*conn) bool {
	if c.closing {
		return false
	}
	if len(c.queue) >= c.g.cfg.QueueLen {
		c.g.m.overflows.Inc()
		c.closeLocked(statusTryAgain, "queue overflow", true)
		return false
	}
	c.queue = append(c.queue, frame)
	if !c.writing {
		c.writing = true
		if later != nil {
			*later = append(*later, c)
		} else {
			go c.flushFn()
		}
	}
	return true
}

// startWriters starts the writers queueLocked left to the caller.
func startWriters(later []*conn) {
	for _, c := range later {
		go c.flushFn()
	}
}

// close queues a close frame behind the queued frames (or instead of them
// when drop is set); the writer sends it, half-closes the connection and
// gives the client CloseTimeout to answer.
func (c *conn) close(code gws.StatusCode, reason string, drop bool) {
	c.mu.Lock()
	c.closeLocked(code, reason, drop)
	c.mu.Unlock()
}

func (c *conn) closeLocked(code gws.StatusCode, reason string, drop bool) {
	if c.closing {
		return
	}
	c.closing = true
	c.closed.Store(true)
	c.closeDone = make(chan struct{})
	if drop {
		clear(c.queue)
		c.queue = c.queue[:0]
	}
	c.queue = append(c.queue, closeFrame(code, reason))
	c.g.m.closes.WithLabelValues(statusLabel(code)).Inc()
	// If the writer is stuck on a client that does not read, this bounds
	// how long the reader waits for an answer that cannot come.
	_ = c.nc.SetReadDeadline(time.Now().Add(c.g.cfg.WriteTimeout + c.g.cfg.CloseTimeout))
	if !c.writing {
		c.writing = true
		go c.flushFn()
	}
	c.wake(false) // a parked reader must read the client's answer
}

// flush is the writer: it writes the queue in batches (one writev each)
// until it is empty, then exits.
func (c *conn) flush() {
	for {
		c.mu.Lock()
		batch := c.queue
		if len(batch) == 0 {
			c.writing = false
			if cap(c.queue) == 0 && cap(c.spare) <= maxIdleQueue {
				c.queue = c.spare[:0] // keep a small slice: the next frame then costs nothing
			} else if cap(c.queue) > maxIdleQueue {
				c.queue = nil
			}
			c.spare = nil
			c.mu.Unlock()
			return
		}
		// A batch larger than maxWriteBatch leaves its tail queued, so a
		// client that stops reading holds at most the queue plus one
		// batch, and overflows as soon as the queue is full again.
		n := min(len(batch), maxWriteBatch)
		c.queue = append(c.spare[:0], batch[n:]...)
		clear(batch[n:])
		batch, c.spare = batch[:n], nil
		closing := c.closing && len(c.queue) == 0
		c.mu.Unlock()

		err := c.writeBatch(batch)
		c.g.m.writes.Inc()
		clear(batch)
		c.mu.Lock()
		c.spare = batch[:0]
		done := closing && len(c.queue) == 0
		if err != nil {
			// The socket is dead: nothing queued can be sent any more.
			clear(c.queue)
			c.queue = c.queue[:0]
			if !c.closing {
				c.closing = true
				c.closed.Store(true)
				c.closeDone = make(chan struct{})
			}
			done = true
		}
		if done {
			c.finishWriteLocked(err)
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

// finishWriteLocked runs once the close frame is out (or the socket
// failed): half-close so the client sees EOF after our close frame, and
// wake the reader if the client never answers.
func (c *conn) finishWriteLocked(err error) {
	if err != nil {
		_ = c.nc.Close()
	} else {
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(c.g.cfg.CloseTimeout))
	}
	select {
	case <-c.closeDone:
	default:
		close(c.closeDone)
	}
	c.wake(false) // a closed descriptor leaves epoll without a word
}

func (c *conn) writeBatch(batch [][]byte) error {
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.g.cfg.WriteTimeout)); err != nil {
		return err
	}
	if len(batch) == 1 {
		_, err := c.nc.Write(batch[0])
		return err
	}
	// wbuf is a field so WriteTo's pointer receiver does not allocate.
	c.wbuf = net.Buffers(batch)
	_, err := c.wbuf.WriteTo(c.nc)
	c.wbuf = nil
	return err
}

func statusLabel(code gws.StatusCode) string { return strconv.Itoa(int(code)) }
