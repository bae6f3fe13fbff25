//go:build linux

package ws

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// poller waits on a gateway's parked sockets with one epoll set, level-
// triggered and one-shot: an armed socket reports once, so it starts one
// reader, and bytes that came before the arming are reported at once, so
// none wait unseen. Entries carry a key of the socket's own, never its
// descriptor number, which the next accepted socket may reuse; the kernel
// drops a closed socket's entry by itself, so none is ever deleted by hand
// (a late delete could hit the socket that reused the number).
type poller struct {
	epfd, stopfd int
	every        time.Duration // how often silent sockets are looked for
	log          *slog.Logger
	done         chan struct{}
	closeOnce    sync.Once

	mu    sync.Mutex
	conns map[uint64]*conn // by key, from a socket's first park to its end
	next  uint64
}

const stopKey = 0 // the eventfd that stops the loop

func newPoller(heartbeat time.Duration, log *slog.Logger) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	stopfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	setKey(&ev, stopKey)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, stopfd, &ev); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(stopfd)
		return nil, fmt.Errorf("epoll_ctl eventfd: %w", err)
	}
	p := &poller{epfd: epfd, stopfd: stopfd, every: max(heartbeat/4, 10*time.Millisecond), log: log,
		done: make(chan struct{}), conns: map[uint64]*conn{}}
	go p.loop()
	return p, nil
}

func setKey(ev *unix.EpollEvent, key uint64) {
	ev.Fd, ev.Pad = int32(uint32(key)), int32(uint32(key>>32))
}

func keyOf(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// track gives c its key before its first park; only its reader may call
// it, before the socket can be woken.
func (p *poller) track(c *conn) {
	p.mu.Lock()
	p.next++
	c.pollKey = p.next
	p.conns[c.pollKey] = c
	p.mu.Unlock()
}

// arm asks epoll to report c once: readable, hung up or failed.
func (p *poller) arm(c *conn) error {
	a := armers.Get().(*armer)
	a.epfd, a.key = p.epfd, c.pollKey
	// Control holds the descriptor open while epoll_ctl runs, so a
	// concurrent close cannot hand its number to another socket meanwhile.
	err := c.raw.Control(a.fn)
	if err == nil {
		err = a.err
	}
	a.err = nil
	armers.Put(a)
	return err
}

// armer carries one arming's arguments and result through RawConn.Control.
// It is not the conn's: once epoll is armed, the socket may already have
// a new reader, and this goroutine must not touch the conn again.
type armer struct {
	epfd int
	key  uint64
	err  error
	fn   func(fd uintptr) // a.armFd, bound once per armer
}

var armers = sync.Pool{New: func() any {
	a := &armer{}
	a.fn = a.armFd
	return a
}}

func (a *armer) armFd(fd uintptr) {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT}
	setKey(&ev, a.key)
	err := unix.EpollCtl(a.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
	if err == unix.ENOENT { // the first park of this socket
		err = unix.EpollCtl(a.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	}
	a.err = err
}

// forget drops a finished socket; its epoll entry went with its descriptor.
func (p *poller) forget(c *conn) {
	if p == nil || c.pollKey == 0 {
		return
	}
	p.mu.Lock()
	delete(p.conns, c.pollKey)
	p.mu.Unlock()
}

// loop starts a reader for each socket epoll reports, and every p.every
// wakes the sockets silent past their heartbeat deadline, until close.
func (p *poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	ready := make([]*conn, 0, len(events))
	next := time.Now().Add(p.every)
	for {
		n, err := unix.EpollWait(p.epfd, events, int(time.Until(next).Milliseconds())+1)
		if err != nil && err != unix.EINTR {
			// Only a broken epoll set can fail here; back off rather than spin.
			p.log.Error("epoll_wait", "err", err)
			time.Sleep(100 * time.Millisecond)
		}
		ready = ready[:0]
		p.mu.Lock()
		for i := range max(n, 0) {
			key := keyOf(&events[i])
			if key == stopKey {
				p.mu.Unlock()
				return
			}
			if c := p.conns[key]; c != nil {
				ready = append(ready, c)
			}
		}
		p.mu.Unlock()
		for i, c := range ready {
			c.wake(false)
			ready[i] = nil
		}
		if now := time.Now(); !now.Before(next) {
			p.sweep(now.UnixNano())
			next = now.Add(p.every)
		}
	}
}

// sweep wakes the parked sockets whose clients have been silent for two
// heartbeats; their readers close them.
func (p *poller) sweep(now int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if c.state.Load() == stateParked && c.readBy.Load() < now {
			c.wake(true)
		}
	}
}

// close stops the loop; the gateway calls it once no socket is left. Only
// the first call closes the descriptors: a second close of a number could
// close whatever was opened under it since.
func (p *poller) close() {
	if p == nil {
		return
	}
	p.closeOnce.Do(func() {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		if _, err := unix.Write(p.stopfd, one[:]); err != nil {
			p.log.Error("stop poller", "err", err)
		}
		<-p.done
		_ = unix.Close(p.epfd)
		_ = unix.Close(p.stopfd)
	})
}
