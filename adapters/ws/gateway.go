package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	gws "github.com/gobwas/ws"
	"github.com/google/uuid"
)

// Gateway serves sockets and fans projected updates out to them. Its
// methods are safe for concurrent use.
type Gateway struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	ctx    context.Context // commands of sockets; cancelled by Shutdown
	cancel context.CancelFunc
	conns  sync.WaitGroup // one per socket, until its teardown
	work   *workQueue     // presence and membership updates, in order
	poll   *poller        // parked readers; nil where sockets cannot park
	syncs  sync.WaitGroup // presence syncers and the work loop

	mu        sync.RWMutex
	closed    bool
	rooms     map[uuid.UUID]*roomSubs
	users     map[uuid.UUID]*userEntry
	members   map[uuid.UUID]map[uuid.UUID]struct{} // room → local users who are members
	all       map[*conn]struct{}
	listeners map[net.Listener]struct{}
}

// New builds a gateway; it serves nothing until given connections.
func New(cfg Config) (*Gateway, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &Gateway{
		cfg: cfg, log: cfg.Logger.With("component", "ws"), m: newMetrics(cfg.Registerer),
		ctx: ctx, cancel: cancel, work: newWorkQueue(),
		rooms: map[uuid.UUID]*roomSubs{}, users: map[uuid.UUID]*userEntry{},
		members: map[uuid.UUID]map[uuid.UUID]struct{}{}, all: map[*conn]struct{}{},
		listeners: map[net.Listener]struct{}{},
	}
	poll, err := newPoller(cfg.Heartbeat, g.log)
	if err != nil {
		// Sockets then keep a reader goroutine each: more memory, same behaviour.
		g.log.Warn("idle sockets cannot park their readers", "err", err)
	}
	g.poll = poll
	g.syncs.Add(1)
	go g.workLoop()
	return g, nil
}

// helloFrame is PROTOCOL.md's first server frame.
type helloFrame struct {
	Type        string           `json:"type"`
	User        projections.User `json:"user"`
	HeartbeatMS int64            `json:"heartbeat_ms"`
}

// serve sets an upgraded socket up on the calling goroutine and starts
// its reader on a fresh one. The handshake's deep stack (and, through
// ServeHTTP, net/http's request, response and buffers) is then left
// behind, and once idle the reader parks (park.go).
func (g *Gateway) serve(nc net.Conn, sess Session) {
	if sess.User.Roles == nil {
		sess.User.Roles = []string{} // never null on the wire
	}
	c := &conn{g: g, nc: nc, sess: sess, user: domain.UserRef{ID: sess.User.ID, Username: sess.User.Username},
		addr: nc.RemoteAddr().String(), raw: rawConnOf(nc)}
	c.flushFn = c.flush
	c.in.nc = nc
	hello, err := json.Marshal(helloFrame{Type: "hello", User: sess.User, HeartbeatMS: g.cfg.Heartbeat.Milliseconds()})
	if err != nil {
		g.log.Error("encode hello", "err", err)
		_ = nc.Close()
		return
	}
	if !g.register(c) {
		// Shutting down: say so the way a client expects, then leave.
		c.close(gws.StatusGoingAway, "server shutting down", false)
		c.finish(nil)
		return
	}
	g.m.connections.Inc()
	c.push(textFrame(hello))
	go c.run()
}

// run is the reader goroutine of a socket, until the socket ends or its
// reader parks.
func (c *conn) run() {
	err := c.readLoop()
	if err == errParked {
		return
	}
	c.finish(err)
	c.in.release()
	c.g.poll.forget(c)
	c.g.unregister(c)
	c.g.m.connections.Dec()
	c.g.conns.Done()
}

// finish ends a socket after its read loop: it sends the close frame the
// loop asked for, waits for the client's answer, and closes.
func (c *conn) finish(err error) {
	var ce *closeErr
	switch {
	case errors.As(err, &ce):
		c.close(ce.code, ce.reason, false)
		c.drain()
	case err == nil, errors.Is(err, errClientClosed):
	default:
		// The network failed: nobody is left to read a close frame.
		_ = c.nc.Close()
	}
	c.mu.Lock()
	done := c.closeDone
	c.mu.Unlock()
	if done != nil {
		t := time.NewTimer(c.g.cfg.WriteTimeout)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	_ = c.nc.Close()
	c.cmds.Wait()
}

// register adds a socket to the gateway; false once shutting down.
func (g *Gateway) register(c *conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.conns.Add(1)
	g.all[c] = struct{}{}
	g.userOnlineLocked(c)
	return true
}

// unregister drops a finished socket's subscriptions and presence.
func (g *Gateway) unregister(c *conn) {
	c.mu.Lock()
	subs := make([]*sub, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, s := range subs {
		g.removeSub(s)
	}
	g.mu.Lock()
	delete(g.all, c)
	g.userOfflineLocked(c)
	g.mu.Unlock()
}

// Shutdown stops accepting, closes every socket with 1000 after what is
// queued for it, waits for them (forcing what is left when ctx ends), and
// takes this node's users offline.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	for ln := range g.listeners {
		_ = ln.Close()
	}
	conns := make([]*conn, 0, len(g.all))
	for c := range g.all {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		c.close(gws.StatusNormalClosure, "server shutdown", false)
	}
	var err error
	if !waitCtx(ctx, &g.conns) {
		err = fmt.Errorf("shutdown: %w", ctx.Err())
		g.mu.RLock()
		for c := range g.all {
			_ = c.nc.Close()
			c.wake(false) // its epoll entry went with the descriptor
		}
		g.mu.RUnlock()
		g.conns.Wait()
	}
	g.poll.close()
	g.endGraces()
	g.work.close()
	if !waitCtx(ctx, &g.syncs) && err == nil {
		err = fmt.Errorf("shutdown: presence: %w", ctx.Err())
	}
	g.cancel()
	return err
}

// waitCtx waits for wg; false if ctx ended first.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}
