package ws

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// userEntry is a user with sockets on this node (or in their grace
// period). Fields are under Gateway.mu except bucket and typing, which
// have their own lock because the sockets of one user share them.
type userEntry struct {
	ref     domain.UserRef
	session uuid.UUID // of the socket that brought the user online
	conns   []*conn
	rooms   []uuid.UUID // memberships, for presence targeting

	grace      *time.Timer
	graceGen   int
	want       bool // online as far as this node is concerned
	applied    bool // what the log says this node reported last
	syncing    bool
	roomsKnown bool

	bucket *bucket

	mu     sync.Mutex
	typing map[uuid.UUID]time.Time // room → last typing frame sent
}

// userOnlineLocked adds c to its user, cancelling a pending grace.
func (g *Gateway) userOnlineLocked(c *conn) {
	e := g.users[c.user.ID]
	if e == nil {
		e = &userEntry{ref: c.user, session: c.sess.ID, bucket: newBucket(g.cfg.SendRate, g.cfg.SendBurst)}
		g.users[c.user.ID] = e
		g.work.push(refreshRooms(c.user.ID))
	}
	c.entry = e
	e.conns = append(e.conns, c)
	if e.grace != nil {
		e.grace.Stop()
		e.grace = nil
	}
	e.want = true
	g.syncLocked(e)
}

// userOfflineLocked removes c; the user's last socket starts the grace
// after which the user goes offline unless they came back.
func (g *Gateway) userOfflineLocked(c *conn) {
	e := c.entry
	if e == nil {
		return
	}
	if i := slices.Index(e.conns, c); i >= 0 {
		e.conns = slices.Delete(e.conns, i, i+1)
	}
	if len(e.conns) > 0 {
		return
	}
	e.graceGen++
	gen := e.graceGen
	e.grace = time.AfterFunc(g.cfg.PresenceGrace, func() { g.graceOver(e, gen) })
}

func (g *Gateway) graceOver(e *userEntry, gen int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e.graceGen != gen || e.grace == nil || len(e.conns) > 0 {
		return
	}
	g.endGraceLocked(e)
}

func (g *Gateway) endGraceLocked(e *userEntry) {
	e.grace.Stop()
	e.grace = nil
	e.want = false
	g.syncLocked(e)
	g.dropIdleLocked(e)
}

// endGraces takes offline at once every user in their grace (shutdown).
func (g *Gateway) endGraces() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, e := range g.users {
		if e.grace != nil && len(e.conns) == 0 {
			g.endGraceLocked(e)
		}
	}
}

// syncLocked starts the one syncer of e if the log does not say what
// this node wants. One syncer per user keeps its connect and disconnect
// events in order, while different users sync in parallel.
func (g *Gateway) syncLocked(e *userEntry) {
	if e.syncing || e.want == e.applied {
		return
	}
	e.syncing = true
	g.syncs.Add(1)
	go g.syncPresence(e)
}

func (g *Gateway) syncPresence(e *userEntry) {
	defer g.syncs.Done()
	for failures := 0; ; {
		g.mu.Lock()
		want := e.want
		if want == e.applied {
			e.syncing = false
			g.dropIdleLocked(e)
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.CommandTimeout)
		_, err := g.cfg.Commands.Execute(ctx, domain.Connect{UserID: e.ref.ID, Username: e.ref.Username,
			SessionID: e.session, Node: g.cfg.Node, Online: want},
			domain.Metadata{ActorID: e.ref.ID.String(), ActorName: e.ref.Username, Node: g.cfg.Node})
		cancel()
		if err != nil {
			failures++
			g.log.Error("record presence", "user", e.ref.ID, "online", want, "attempt", failures, "err", err)
			if failures < 3 {
				time.Sleep(time.Duration(failures) * 200 * time.Millisecond)
				continue
			}
			// The node lease takes the user offline if this node dies;
			// retrying forever would only pile up goroutines.
		}
		failures = 0
		g.mu.Lock()
		e.applied = want
		g.mu.Unlock()
	}
}

// dropIdleLocked forgets a user who is offline with nothing pending.
func (g *Gateway) dropIdleLocked(e *userEntry) {
	if len(e.conns) > 0 || e.grace != nil || e.want || e.applied || e.syncing || g.users[e.ref.ID] != e {
		return
	}
	delete(g.users, e.ref.ID)
	g.setRoomsLocked(e, nil)
}

// setRoomsLocked replaces the memberships of a local user in the index.
func (g *Gateway) setRoomsLocked(e *userEntry, rooms []uuid.UUID) {
	for _, r := range e.rooms {
		if m := g.members[r]; m != nil {
			delete(m, e.ref.ID)
			if len(m) == 0 {
				delete(g.members, r)
			}
		}
	}
	e.rooms = rooms
	for _, r := range rooms {
		m := g.members[r]
		if m == nil {
			m = map[uuid.UUID]struct{}{}
			g.members[r] = m
		}
		m[e.ref.ID] = struct{}{}
	}
}

// typingAllowed reports whether a typing frame for room may go out now.
func (e *userEntry) typingAllowed(room uuid.UUID, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if last, ok := e.typing[room]; ok && now.Sub(last) < time.Second {
		return false
	}
	if e.typing == nil {
		e.typing = map[uuid.UUID]time.Time{}
	}
	if len(e.typing) > 64 {
		for r, t := range e.typing {
			if now.Sub(t) >= time.Second {
				delete(e.typing, r)
			}
		}
	}
	e.typing[room] = now
	return true
}

// bucket is a token bucket: rate tokens a second, at most burst saved.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	at     time.Time
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.at.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
