package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/gobwas/ws/wsutil"
	"github.com/google/uuid"
)

// roomEvent is a made-up room event frame of about size bytes.
func roomEvent(room uuid.UUID, seq int64, size int) projections.Update {
	frame := fmt.Appendf(nil, `{"type":"event","room":%q,"seq":%d,"kind":"message_posted","data":{"body":%q}}`,
		room, seq, strings.Repeat("x", size))
	return projections.Update{Kind: projections.UpdateRoomEvent, Room: room, Seq: seq, Frame: frame}
}

func TestSlowConsumerIsolated(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.QueueLen, c.WriteTimeout = 256, time.Minute }) // the slow client reads only at the end
	slow := h.user("slow")
	fast := []*client{h.user("fast1"), h.user("fast2")}
	room := h.chat.addRoom(slow.id(), fast[0].id(), fast[1].id())
	slow.subscribe(room, nil)
	for _, c := range fast {
		c.subscribe(room, nil)
	}
	const n, size = 1500, 32 << 10 // 48 MiB: more than any socket buffer holds
	var wg sync.WaitGroup
	for _, c := range fast {
		wg.Add(1)
		go func(c *client) {
			defer wg.Done()
			for want := int64(1); want <= n; want++ {
				p, err := c.readRaw(5 * time.Second)
				if err != nil {
					t.Errorf("%s: read seq %d: %v", c.sess.User.Username, want, err)
					return
				}
				if isPresence(p) {
					want--
					continue
				}
				if quickSeq(p) != want {
					t.Errorf("%s: got %.60s, want seq %d", c.sess.User.Username, p, want)
					return
				}
			}
		}(c)
	}
	start := time.Now()
	for seq := int64(1); seq <= n; seq++ {
		h.gw.Deliver([]projections.Update{roomEvent(room, seq, size)})
		if seq%16 == 0 {
			time.Sleep(5 * time.Millisecond) // about 100 MB/s, which readers keep up with
		}
	}
	delivered := time.Since(start)
	wg.Wait()
	t.Logf("delivered %d frames of %d KiB in %v, fast readers done after %v", n, size>>10, delivered, time.Since(start))
	if got := counterValue(t, h.gw.m.overflows); got != 1 {
		t.Fatalf("overflows = %v, want 1 (the slow client)", got)
	}
	// The slow client finds what fit, in order, then 1013.
	var last int64
	for {
		p, err := slow.readRaw(5 * time.Second)
		var ce wsutil.ClosedError
		if errors.As(err, &ce) && ce.Code == 1013 {
			break
		}
		if err != nil {
			t.Fatalf("slow client after seq %d: %v, want close 1013", last, err)
		}
		if isPresence(p) {
			continue
		}
		if quickSeq(p) != last+1 {
			t.Fatalf("slow client got %.60s after seq %d", p, last)
		}
		last++
	}
	if last >= n {
		t.Fatalf("slow client got all %d frames; the test did not overflow it", n)
	}
}

// isPresence tells a presence frame: the members' own comings online may
// reach a room's sockets late (seen under the race detector), between the
// room's events.
func isPresence(frame []byte) bool { return bytes.HasPrefix(frame, []byte(`{"type":"presence"`)) }

// TestResumeUnderConcurrentSenders checks the subscribe boundary: a reader
// that subscribes with after=N and keeps resuming while others send sees
// every seq exactly once, replayed or live. Some seqs never reach the
// gateway live (a lossy bus) and must be healed from history.
func TestResumeUnderConcurrentSenders(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SendRate, c.SendBurst = 1e6, 1e6 })
	h.chat.mu.Lock()
	for _, s := range []int64{7, 40, 41, 42, 150, 333} {
		h.chat.dropSeq[s] = true
	}
	h.chat.mu.Unlock()
	const senders, each = 4, 100
	var clients []*client
	var members []uuid.UUID
	for i := 0; i < senders; i++ {
		c := h.user(fmt.Sprintf("sender%d", i))
		clients = append(clients, c)
		members = append(members, c.id())
	}
	readerSess, readerToken := h.chat.addUser("reader")
	members = append(members, readerSess.User.ID)
	room := h.chat.addRoom(members...)

	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func(c *client) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				c.sendJSON(map[string]any{"type": "send", "room": room, "client_id": uuid.New(), "body": "m"})
				time.Sleep(time.Millisecond) // spread sends over the reader's resumes
			}
		}(c)
	}

	seen := map[int64]int{}
	var last int64
	total := int64(senders * each)
	for round := 0; last < total; round++ {
		if round > 100 {
			t.Fatalf("no progress: last seq %d of %d", last, total)
		}
		r := h.connect(readerSess, readerToken)
		r.subscribe(room, ptr(last))
		// Read a while, then drop the socket and resume.
		for i := 0; i < 37 && last < total; i++ {
			m := r.expect("event")
			s := seqOf(m)
			seen[s]++
			if s != last+1 {
				t.Fatalf("round %d: got seq %d after %d", round, s, last)
			}
			last = s
		}
		r.nc.Close()
	}
	wg.Wait()
	for s := int64(1); s <= total; s++ {
		if seen[s] != 1 {
			t.Fatalf("seq %d seen %d times", s, seen[s])
		}
	}
}

func TestPresence(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PresenceGrace = time.Second })
	bob := h.user("bob")
	bob.presence = true
	aliceSess, aliceToken := h.chat.addUser("alice")
	stranger := h.user("stranger")
	stranger.presence = true
	h.chat.addRoom(aliceSess.User.ID, bob.id())
	waitDelivered(t, h)
	h.gw.work.push(refreshRooms(bob.id())) // bob's rooms were loaded before the room existed

	alice := h.connect(aliceSess, aliceToken)
	m := bob.expect("presence")
	u, _ := m["user"].(map[string]any)
	if m["online"] != true || u["id"] != aliceSess.User.ID.String() {
		t.Fatalf("presence = %v", m)
	}
	// A reload inside the grace changes nothing.
	alice.nc.Close()
	time.Sleep(20 * time.Millisecond)
	alice = h.connect(aliceSess, aliceToken)
	time.Sleep(200 * time.Millisecond)
	alice.nc.Close()
	if m := bob.expect("presence"); m["online"] != false {
		t.Fatalf("presence after the last socket closed = %v", m)
	}
	stranger.sync() // shares no room with alice: no presence
	var events []bool
	for _, c := range h.chat.presence() {
		if c.UserID == aliceSess.User.ID {
			events = append(events, c.Online)
		}
	}
	if fmt.Sprint(events) != "[true false]" {
		t.Fatalf("alice's presence commands = %v, want [true false]", events)
	}
}

func TestLeftRoomEndsSubscription(t *testing.T) {
	h := newHarness(t, nil)
	alice, bob := h.user("alice"), h.user("bob")
	room := h.chat.addRoom(alice.id(), bob.id())
	alice.subscribe(room, nil)
	h.chat.setMember(room, alice.id(), false)
	if m := alice.expect("unsubscribed"); m["room"] != room.String() {
		t.Fatalf("unsubscribed = %v", m)
	}
	bob.sendJSON(map[string]any{"type": "send", "room": room, "client_id": uuid.New(), "body": "bye"})
	bob.expect("ack")
	waitDelivered(t, h)
	alice.sync()
}

// quickSeq finds "seq":N without decoding a large frame (the race
// detector makes full decoding slower than the sender).
func quickSeq(p []byte) int64 {
	i := bytes.Index(p, []byte(`"seq":`))
	if i < 0 {
		return -1
	}
	var n int64
	for _, c := range p[i+6:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// TestGapMissingFromHistory: a seq that neither the bus nor history has
// holds the room back only for a bounded time, then is skipped.
func TestGapMissingFromHistory(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.user("alice")
	room := h.chat.addRoom(alice.id())
	alice.subscribe(room, nil)
	h.gw.Deliver([]projections.Update{roomEvent(room, 1, 10), roomEvent(room, 3, 10), roomEvent(room, 4, 10)})
	for _, want := range []int64{1, 3, 4} {
		if e := alice.expect("event"); seqOf(e) != want {
			t.Fatalf("got seq %d, want %d", seqOf(e), want)
		}
	}
	h.gw.Deliver([]projections.Update{roomEvent(room, 4, 10), roomEvent(room, 5, 10)})
	if e := alice.expect("event"); seqOf(e) != 5 {
		t.Fatalf("after the skipped gap got seq %d, want 5 (4 is a repeat)", seqOf(e))
	}
}

// TestBatchLeavesInFewWrites: the frames one Deliver call has for a
// socket leave in as few writes as the cap per write allows
// (maxWriteBatch), in order, even when the batch is long enough for a
// writer started at its first frame to have run meanwhile. Sink sockets
// (no handshake, no presence) keep other frames out of the count.
func TestBatchLeavesInFewWrites(t *testing.T) {
	const subscribers, n = 2, 3*maxWriteBatch + 10 // n under the queue's 512
	chat := newFakeChat()
	g, err := New(Config{Auth: chat, Commands: chat, Rooms: chat, History: chat, Node: "test",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Shutdown(context.Background()) }()
	room := uuid.New()
	sinks := make([]*seqSink, subscribers)
	for i := range sinks {
		sinks[i] = &seqSink{}
		c := &conn{g: g, nc: sinks[i], user: domain.UserRef{ID: uuid.New(), Username: "u"}}
		c.flushFn = c.flush
		g.addSub(&sub{c: c, room: room, live: true})
	}
	batch := make([]projections.Update, 0, n)
	for seq := int64(1); seq <= n; seq++ {
		batch = append(batch, roomEvent(room, seq, 10))
	}
	g.Deliver(batch)
	const wantWrites = subscribers * ((n + maxWriteBatch - 1) / maxWriteBatch)
	deadline := time.Now().Add(5 * time.Second)
	for counterValue(t, g.m.writes) < wantWrites {
		if time.Now().After(deadline) {
			t.Fatalf("%v writes, want %d", counterValue(t, g.m.writes), wantWrites)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // a writer counts its write after the bytes are out
	if writes := counterValue(t, g.m.writes); writes != wantWrites {
		t.Errorf("%d frames for each of %d sockets took %v writes, want %d", n, subscribers, writes, wantWrites)
	}
	for i, s := range sinks {
		seqs := s.taken()
		if len(seqs) != n {
			t.Fatalf("socket %d got %d frames, want %d", i, len(seqs), n)
		}
		for j, seq := range seqs {
			if seq != int64(j+1) {
				t.Fatalf("socket %d: frame %d has seq %d, want %d", i, j, seq, j+1)
			}
		}
	}
}

// seqSink is a socket that takes every write at once and records the seq
// of each frame (net.Buffers writes a frame per Write on it).
type seqSink struct {
	net.Conn // nil: only the methods below are used
	mu       sync.Mutex
	seqs     []int64
}

var seqField = regexp.MustCompile(`"seq":(\d+)`)

func (c *seqSink) Write(p []byte) (int, error) {
	m := seqField.FindSubmatch(p)
	seq := int64(-1)
	if m != nil {
		seq, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	c.mu.Lock()
	c.seqs = append(c.seqs, seq)
	c.mu.Unlock()
	return len(p), nil
}

func (c *seqSink) taken() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seqs)
}

func (*seqSink) SetWriteDeadline(time.Time) error { return nil }
func (*seqSink) SetReadDeadline(time.Time) error  { return nil }
func (*seqSink) Close() error                     { return nil }
func (*seqSink) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
