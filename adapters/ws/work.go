package ws

import (
	"context"
	"sync"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// workQueue is an unbounded FIFO: the bus must never wait for the store
// reads that presence and membership updates need, and their order
// matters (a user's online before their offline).
type workQueue struct {
	mu     sync.Mutex
	items  []projections.Update
	wake   chan struct{}
	closed bool
}

func newWorkQueue() *workQueue { return &workQueue{wake: make(chan struct{}, 1)} }

// refreshKind marks a queued request to reload a local user's rooms; it
// is not a kind the projections publish.
const refreshKind projections.UpdateKind = 255

func refreshRooms(user uuid.UUID) projections.Update {
	return projections.Update{Kind: refreshKind, User: user}
}

func (q *workQueue) push(u projections.Update) {
	q.mu.Lock()
	if !q.closed {
		q.items = append(q.items, u)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns the queued items, waiting for some; nil once closed and
// empty.
func (q *workQueue) take() []projections.Update {
	for {
		q.mu.Lock()
		items, closed := q.items, q.closed
		q.items = nil
		q.mu.Unlock()
		if len(items) > 0 || closed {
			return items
		}
		<-q.wake
	}
}

func (q *workQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (g *Gateway) workLoop() {
	defer g.syncs.Done()
	for {
		items := g.work.take()
		if items == nil {
			return
		}
		for _, u := range items {
			switch u.Kind {
			case refreshKind:
				g.refreshRooms(u.User)
			case projections.UpdatePresence:
				g.deliverPresence(u)
			case projections.UpdateMembership:
				g.refreshRooms(u.User)
				g.recheckSubs(u.Room, u.User)
			}
		}
	}
}

// refreshRooms reloads the memberships of a local user.
func (g *Gateway) refreshRooms(user uuid.UUID) {
	g.mu.RLock()
	local := g.users[user] != nil
	g.mu.RUnlock()
	if !local {
		return
	}
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CommandTimeout)
	defer cancel()
	rooms, err := g.cfg.Rooms.RoomsOf(ctx, user)
	if err != nil {
		g.log.Error("load rooms of a user for presence", "user", user, "err", err)
		return
	}
	g.mu.Lock()
	if e := g.users[user]; e != nil {
		g.setRoomsLocked(e, rooms)
		e.roomsKnown = true
	}
	g.mu.Unlock()
}

// deliverPresence sends a presence frame to the local users who share a
// room with its subject (not to the subject).
func (g *Gateway) deliverPresence(u projections.Update) {
	g.mu.RLock()
	var rooms []uuid.UUID
	if e := g.users[u.User]; e != nil && e.roomsKnown {
		rooms = e.rooms
	}
	g.mu.RUnlock()
	if rooms == nil {
		ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CommandTimeout)
		var err error
		rooms, err = g.cfg.Rooms.RoomsOf(ctx, u.User)
		cancel()
		if err != nil {
			g.log.Error("load rooms of a presence subject", "user", u.User, "err", err)
			return
		}
	}
	frame := textFrame(u.Frame)
	seen := map[uuid.UUID]struct{}{u.User: {}}
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := 0
	for _, r := range rooms {
		for id := range g.members[r] {
			if _, dup := seen[id]; dup {
				continue
			}
			seen[id] = struct{}{}
			if e := g.users[id]; e != nil {
				for _, c := range e.conns {
					c.push(frame)
					n++
				}
			}
		}
	}
	g.m.framesOut.Add(float64(n))
}

// recheckSubs ends the subscriptions of user to room once they may no
// longer read it (they left); the socket is told with `unsubscribed`.
func (g *Gateway) recheckSubs(room, user uuid.UUID) {
	g.mu.RLock()
	var subs []*sub
	if e := g.users[user]; e != nil {
		for _, c := range e.conns {
			c.mu.Lock()
			if s := c.subs[room]; s != nil {
				subs = append(subs, s)
			}
			c.mu.Unlock()
		}
	}
	g.mu.RUnlock()
	if len(subs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CommandTimeout)
	defer cancel()
	_, err := g.cfg.Rooms.Access(ctx, room, user)
	switch domain.ErrorCode(err) {
	case "":
		return
	case domain.CodeForbidden, domain.CodeNotFound:
	default:
		g.log.Error("recheck room access", "room", room, "user", user, "err", err)
		return
	}
	for _, s := range subs {
		g.removeSub(s)
		s.c.push(unsubscribedFrame(nil, false, room))
	}
}
