package ws

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// slowAcks returns from every command only after the fake delivered its
// events to the gateway, as the in-process bus can: the event is offered
// to the sender's socket before its ack exists.
type slowAcks struct{ *fakeChat }

func (s slowAcks) Execute(ctx context.Context, cmd domain.Command, meta domain.Metadata) ([]domain.Event, error) {
	events, err := s.fakeChat.Execute(ctx, cmd, meta)
	for len(s.updates) > 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond) // Deliver has run
	return events, err
}

// TestAckBeforeItsEvent: the sender gets the ack first, then the event
// (PROTOCOL.md: "The message then arrives as an event frame"), for send,
// edit and delete alike; a bystander gets the events unchanged.
func TestAckBeforeItsEvent(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Commands = slowAcks{c.Commands.(*fakeChat)} })
	bob, ann := h.user("bob"), h.user("ann")
	room := h.chat.addRoom(bob.id(), ann.id())
	bob.subscribe(room, nil)
	ann.subscribe(room, nil)
	bob.sendJSON(map[string]any{"type": "send", "ref": "s", "room": room, "client_id": uuid.New(), "body": "hi"})
	ack := bob.read()
	if ack["type"] != "ack" {
		t.Fatalf("first frame after send = %v, want the ack", ack)
	}
	if e := bob.read(); e["type"] != "event" || seqOf(e) != seqOf(ack) {
		t.Fatalf("then %v, want the event of seq %d", e, seqOf(ack))
	}
	bob.sendJSON(map[string]any{"type": "edit", "ref": "e", "room": room, "id": ack["id"], "body": "hello"})
	if f := bob.read(); f["type"] != "ack" || f["ref"] != "e" {
		t.Fatalf("first frame after edit = %v, want the ack", f)
	}
	if e := bob.read(); e["type"] != "event" || e["kind"] != "message_edited" {
		t.Fatalf("then %v, want the edit event", e)
	}
	for _, kind := range []string{"message_posted", "message_edited"} {
		if e := ann.expect("event"); e["kind"] != kind {
			t.Fatalf("bystander got %v, want %s", e, kind)
		}
	}
}

// gatedAcks holds the posts of one user before they are recorded until
// the test opens the gate, then offers their events to the gateway before
// the ack exists (as slowAcks does).
type gatedAcks struct {
	*fakeChat
	held    uuid.UUID
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedAcks) Execute(ctx context.Context, cmd domain.Command, meta domain.Metadata) ([]domain.Event, error) {
	post, ok := cmd.(domain.PostMessage)
	if !ok || post.By != g.held {
		return g.fakeChat.Execute(ctx, cmd, meta)
	}
	g.entered <- struct{}{}
	<-g.gate
	return slowAcks{g.fakeChat}.Execute(ctx, cmd, meta)
}

// TestOnlyItsOwnEventWaitsForTheAck: while bob's send waits for its ack,
// ann's message in the same room still reaches bob at once (holding every
// frame while any of a socket's commands was in flight held a pipelining
// sender's room back until its queue overflowed); bob's own event still
// comes after his ack.
func TestOnlyItsOwnEventWaitsForTheAck(t *testing.T) {
	g := &gatedAcks{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	h := newHarness(t, func(c *Config) {
		g.fakeChat = c.Commands.(*fakeChat)
		c.Commands = g
	})
	var open sync.Once
	release := func() { open.Do(func() { close(g.gate) }) }
	t.Cleanup(release) // a failed expectation must not leave bob's command stuck
	bob, ann := h.user("bob"), h.user("ann")
	g.held = bob.id()
	room := h.chat.addRoom(bob.id(), ann.id())
	bob.subscribe(room, nil)
	bob.sendJSON(map[string]any{"type": "send", "ref": "held", "room": room, "client_id": uuid.New(), "body": "mine"})
	<-g.entered
	ann.sendJSON(map[string]any{"type": "send", "ref": "a", "room": room, "client_id": uuid.New(), "body": "meanwhile"})
	ann.expect("ack")
	if e := bob.expect("event"); e["kind"] != "message_posted" {
		t.Fatalf("while his send waits: %v, want ann's message", e)
	}
	release()
	ack := bob.expect("ack")
	if ack["ref"] != "held" {
		t.Fatalf("got %v, want the ack of bob's send", ack)
	}
	if e := bob.expect("event"); seqOf(e) != seqOf(ack) {
		t.Fatalf("after the ack: %v, want bob's own event seq %d", e, seqOf(ack))
	}
}
