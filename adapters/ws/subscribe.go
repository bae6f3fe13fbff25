package ws

import (
	"context"
	"fmt"
	"time"

	"github.com/chatlog/chat/domain"
	gws "github.com/gobwas/ws"
	"github.com/google/uuid"
)

// subscribe answers a subscribe frame. The subscription takes live frames
// first (held back), then the replay is read from history, then the held
// frames past the replay go out: the union has no gap and no repeat,
// whatever commits in between.
func (c *conn) subscribe(r *request) {
	g := c.g
	s := &sub{c: c, room: r.room}
	g.addSub(s)
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CommandTimeout)
	defer cancel()
	head, err := g.cfg.Rooms.Access(ctx, r.room, c.user.ID)
	if err != nil {
		g.removeSub(s)
		c.replyError(r, err)
		return
	}
	var (
		frames    []RoomFrame
		truncated bool
	)
	last := head
	if r.hasAfter {
		last = r.after
		from := r.after
		if head-from > replayLimit {
			// The newest events are replayed; the client pages the older
			// ones over HTTP.
			from, truncated = head-replayLimit, true
		}
		frames, err = g.eventsAfter(r.room, from, replayLimit)
		if err != nil {
			g.removeSub(s)
			c.replyError(r, err)
			return
		}
		if truncated {
			last = from
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.removed {
		return // unsubscribed or closed meanwhile
	}
	if n := len(frames); n > 0 {
		head = max(head, frames[n-1].Seq)
	}
	c.pushLocked(subscribedFrame(r, head, truncated))
	for _, f := range frames {
		if f.Seq == last+1 && c.pushLocked(textFrame(f.Frame)) {
			last = f.Seq
		}
	}
	s.last = last
	s.goLiveLocked()
}

func subscribedFrame(r *request, head int64, truncated bool) []byte {
	b := reply("subscribed", r.ref, r.hasRef, 80)
	b = appendUUIDField(b, "room", r.room)
	b = appendIntField(b, "head", head)
	if truncated {
		b = append(b, `,"truncated":true`...)
	}
	return finishFrame(append(b, '}'), gws.OpText)
}

// eventsAfter reads history for a replay or heal.
func (g *Gateway) eventsAfter(room uuid.UUID, after int64, limit int) ([]RoomFrame, error) {
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CommandTimeout)
	defer cancel()
	frames, err := g.cfg.History.EventsAfter(ctx, room, after, limit)
	if err != nil {
		return nil, fmt.Errorf("events of room %s after %d: %w", room, after, err)
	}
	return frames, nil
}

func (c *conn) unsubscribe(r *request) {
	c.mu.Lock()
	s := c.subs[r.room]
	c.mu.Unlock()
	if s != nil {
		c.g.removeSub(s)
	}
	c.push(unsubscribedFrame(r.ref, r.hasRef, r.room))
}

func unsubscribedFrame(ref []byte, hasRef bool, room uuid.UUID) []byte {
	b := reply("unsubscribed", ref, hasRef, 50)
	b = appendUUIDField(b, "room", room)
	return finishFrame(append(b, '}'), gws.OpText)
}

// typingFor is how long a typing frame says the user is typing.
const typingFor = 5 * time.Second

// typing publishes a typing frame for the room's other subscribers, at
// most once a second per user and room; faster repeats are dropped.
func (c *conn) typing(r *request) {
	g := c.g
	c.mu.Lock()
	subscribed := c.subs[r.room] != nil
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CommandTimeout)
	defer cancel()
	if !subscribed {
		if _, err := g.cfg.Rooms.Access(ctx, r.room, c.user.ID); err != nil {
			c.replyError(r, err)
			return
		}
	}
	now := time.Now()
	if !c.entry.typingAllowed(r.room, now) {
		return
	}
	frame := typingFrame(r.room, c.user, now.Add(typingFor))
	if g.cfg.Signals == nil {
		g.DeliverTyping(r.room, c.user.ID, frame)
		return
	}
	if err := g.cfg.Signals.PublishTyping(ctx, r.room, c.user.ID, frame); err != nil {
		c.replyError(r, fmt.Errorf("publish typing: %w", err))
	}
}

// typingFrame is the payload (no WebSocket header) of a typing frame.
func typingFrame(room uuid.UUID, user domain.UserRef, until time.Time) []byte {
	b := make([]byte, 0, 160+len(user.Username))
	b = append(b, `{"type":"typing"`...)
	b = appendUUIDField(b, "room", room)
	b = append(b, `,"user":{"id":"`...)
	var id [36]byte
	hexUUID(&id, user.ID)
	b = append(b, id[:]...)
	b = append(b, `","username":`...)
	b = appendString(b, user.Username)
	b = append(b, '}')
	b = appendTimeField(b, "until", until)
	return append(b, '}')
}

// DeliverTyping gives a typing frame (from the bus's signals) to the
// local subscribers of room, except the sockets of the user typing.
func (g *Gateway) DeliverTyping(room, user uuid.UUID, frame []byte) {
	wire := textFrame(frame)
	g.mu.RLock()
	defer g.mu.RUnlock()
	rs := g.rooms[room]
	if rs == nil {
		return
	}
	for _, s := range rs.subs {
		if s.c.user.ID == user {
			continue
		}
		s.c.mu.Lock()
		if s.live && !s.removed {
			s.c.pushLocked(wire)
		}
		s.c.mu.Unlock()
	}
}
