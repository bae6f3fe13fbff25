package ws

import (
	"slices"
	"sync"
	"time"

	"github.com/chatlog/chat/projections"
	gws "github.com/gobwas/ws"
	"github.com/google/uuid"
)

// replayLimit is PROTOCOL.md's cap on the events a subscribe replays.
const replayLimit = 500

// maxHealAttempts bounds how often a gap is looked for in history before
// the gateway gives up on it and moves on.
const maxHealAttempts = 5

// roomSubs are the local subscriptions of one room, in a slice so the
// fan-out walks them without allocating.
type roomSubs struct {
	subs []*sub
}

// sub is one socket's subscription to one room. It tracks the last seq
// the socket was given, so nothing is skipped or repeated: frames that
// arrive while a replay or a gap heal runs wait in pending.
type sub struct {
	c    *conn
	room uuid.UUID
	idx  int // in roomSubs.subs; under Gateway.mu

	// under c.mu
	live    bool
	healing bool
	removed bool
	last    int64
	pending []pendingFrame
	// awaiting are the causes (projections.CauseOf) of this socket's send,
	// edit and delete commands on the room still waiting for their ack.
	// The event of one of them, and everything after it, is held until
	// that ack is out (blocked), so the sender sees its ack before the
	// event it caused (PROTOCOL.md: "The message then arrives as an event
	// frame"). Holding every frame while any command was in flight held a
	// pipelining sender's room back until its queue overflowed.
	awaiting []uuid.UUID
	blocked  bool
}

// pendingFrame is a frame held back during a replay or heal; seq 0 marks a
// frame outside the room's sequence (read markers).
type pendingFrame struct {
	seq   int64
	frame []byte
	cause uuid.UUID
}

// Deliver takes projected updates from the bus, in publish order. Room
// frames are wrapped once and the same bytes go to every local subscriber;
// updates that need the stores go to the work loop, so Deliver never
// blocks on I/O.
//
// Writers start once the whole batch is queued, so a socket gets all of a
// batch's frames for it in one write.
func (g *Gateway) Deliver(updates []projections.Update) {
	later := laterPool.Get().(*[]*conn)
	defer func() {
		startWriters(*later)
		clear(*later)
		*later = (*later)[:0]
		laterPool.Put(later)
	}()
	for i := range updates {
		u := &updates[i]
		switch u.Kind {
		case projections.UpdateRoomEvent:
			if u.Seq > 0 {
				g.deliverRoom(u.Room, u.Seq, textFrame(u.Frame), u.Cause, later)
			}
		case projections.UpdateRead:
			g.deliverRoom(u.Room, 0, textFrame(u.Frame), uuid.Nil, later)
		case projections.UpdatePresence, projections.UpdateMembership:
			g.work.push(*u)
		case projections.UpdateSessionEnded:
			g.closeWhere(u.User, func(c *conn) bool { return c.sess.ID == u.Session }, statusSessionEnded, "session ended")
		case projections.UpdateUserDeactivated:
			g.closeWhere(u.User, func(*conn) bool { return true }, statusDeactivated, "account deactivated")
		}
	}
}

// laterPool holds Deliver's lists of writers to start.
var laterPool = sync.Pool{New: func() any { return new([]*conn) }}

// deliverRoom offers one frame to every subscriber of room.
func (g *Gateway) deliverRoom(room uuid.UUID, seq int64, frame []byte, cause uuid.UUID, later *[]*conn) {
	g.mu.RLock()
	n := 0
	if rs := g.rooms[room]; rs != nil {
		n = len(rs.subs)
		for _, s := range rs.subs {
			s.c.mu.Lock()
			s.offerLocked(seq, frame, cause, later)
			s.c.mu.Unlock()
		}
	}
	g.mu.RUnlock()
	if n > 0 {
		g.m.framesOut.Add(float64(n))
	}
}

// offerLocked queues a live frame in seq order: a repeat is dropped, the
// next seq goes out, a gap starts a heal from history, the event of a
// command whose ack is not out yet waits for it. A writer to start goes
// to later when it is set (see queueLocked).
func (s *sub) offerLocked(seq int64, frame []byte, cause uuid.UUID, later *[]*conn) {
	if s.c.closing {
		return
	}
	if !s.live || s.healing || s.blocked {
		s.holdLocked(seq, frame, cause)
		return
	}
	if cause != uuid.Nil && slices.Contains(s.awaiting, cause) {
		s.blocked = true
		s.holdLocked(seq, frame, cause)
		return
	}
	switch {
	case seq == 0:
		s.c.queueLocked(frame, later)
	case seq <= s.last:
	case seq == s.last+1:
		if s.c.queueLocked(frame, later) {
			s.last = seq
		}
	default:
		s.healing = true
		s.holdLocked(seq, frame, cause)
		go s.c.g.heal(s)
	}
}

func (s *sub) holdLocked(seq int64, frame []byte, cause uuid.UUID) {
	if len(s.pending) >= s.c.g.cfg.QueueLen {
		s.c.g.m.overflows.Inc()
		s.c.closeLocked(statusTryAgain, "queue overflow", true)
		return
	}
	s.pending = append(s.pending, pendingFrame{seq, frame, cause})
}

// ackedLocked records that the ack of the command with cause is out and
// offers the frames held for it, unless a replay or heal still holds them.
func (s *sub) ackedLocked(cause uuid.UUID) {
	if i := slices.Index(s.awaiting, cause); i >= 0 {
		s.awaiting = slices.Delete(s.awaiting, i, i+1)
	}
	if s.blocked && s.live && !s.healing && !s.removed {
		s.goLiveLocked()
	}
}

// goLiveLocked ends a replay, heal or wait for an ack: held frames are
// offered again, in order; a new gap or awaited event among them holds
// the rest again.
func (s *sub) goLiveLocked() {
	held := s.pending
	s.pending = nil
	s.live, s.healing, s.blocked = true, false, false
	for i, p := range held {
		s.offerLocked(p.seq, p.frame, p.cause, nil)
		if s.healing || s.blocked {
			s.pending = append(s.pending, held[i+1:]...)
			return
		}
	}
}

// gapLocked reports whether the held frames do not follow s.last.
func (s *sub) gapLocked() bool {
	for _, p := range s.pending {
		if p.seq == 0 || p.seq <= s.last {
			continue
		}
		return p.seq > s.last+1
	}
	return false
}

// heal fills a gap in a live subscription from history; the bus does not
// redeliver what a broken subscription missed.
func (g *Gateway) heal(s *sub) {
	c := s.c
	for stalls := 0; ; {
		c.mu.Lock()
		from, stop := s.last, s.removed || c.closing
		c.mu.Unlock()
		if stop {
			return
		}
		frames, err := g.eventsAfter(s.room, from, replayLimit)
		if err != nil {
			g.log.Warn("heal a gap from history", "room", s.room, "after", from, "err", err)
		}
		c.mu.Lock()
		for _, f := range frames {
			if f.Seq == s.last+1 && c.pushLocked(textFrame(f.Frame)) {
				s.last = f.Seq
			}
		}
		if s.last == from {
			stalls++
		} else {
			stalls = 0
		}
		if !s.gapLocked() || stalls >= maxHealAttempts {
			if s.gapLocked() {
				// History lacks the seqs (it should not): waiting longer would
				// hold the room back for this socket forever.
				g.log.Warn("gap not in history; skipping it", "room", s.room, "after", s.last)
				s.last = s.firstHeldLocked() - 1
			}
			s.goLiveLocked()
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if stalls > 0 {
			time.Sleep(time.Duration(stalls) * 20 * time.Millisecond)
		}
	}
}

func (s *sub) firstHeldLocked() int64 {
	for _, p := range s.pending {
		if p.seq > s.last {
			return p.seq
		}
	}
	return s.last + 1
}

// addSub makes s receive live frames (held until the replay is done),
// replacing the socket's earlier subscription to the room.
func (g *Gateway) addSub(s *sub) {
	c := s.c
	c.mu.Lock()
	old := c.subs[s.room]
	if c.subs == nil {
		c.subs = map[uuid.UUID]*sub{}
	}
	c.subs[s.room] = s
	c.mu.Unlock()
	if old != nil {
		g.removeSub(old)
	}
	g.mu.Lock()
	rs := g.rooms[s.room]
	if rs == nil {
		rs = &roomSubs{}
		g.rooms[s.room] = rs
	}
	s.idx = len(rs.subs)
	rs.subs = append(rs.subs, s)
	g.mu.Unlock()
}

// removeSub stops s; it is a no-op the second time.
func (g *Gateway) removeSub(s *sub) {
	c := s.c
	c.mu.Lock()
	if s.removed {
		c.mu.Unlock()
		return
	}
	s.removed = true
	s.pending = nil
	if c.subs[s.room] == s {
		delete(c.subs, s.room)
	}
	c.mu.Unlock()
	g.mu.Lock()
	if rs := g.rooms[s.room]; rs != nil && s.idx < len(rs.subs) && rs.subs[s.idx] == s {
		last := len(rs.subs) - 1
		rs.subs[s.idx] = rs.subs[last]
		rs.subs[s.idx].idx = s.idx
		rs.subs[last] = nil
		rs.subs = rs.subs[:last]
		if len(rs.subs) == 0 {
			delete(g.rooms, s.room)
		}
	}
	g.mu.Unlock()
}

// closeWhere closes the sockets of user that match with code.
func (g *Gateway) closeWhere(user uuid.UUID, match func(*conn) bool, code gws.StatusCode, reason string) {
	g.mu.RLock()
	var conns []*conn
	if e := g.users[user]; e != nil {
		for _, c := range e.conns {
			if match(c) {
				conns = append(conns, c)
			}
		}
	}
	g.mu.RUnlock()
	for _, c := range conns {
		c.close(code, reason, true)
	}
}
