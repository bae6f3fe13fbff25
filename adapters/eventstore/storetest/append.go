package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
)

func testAppendAndRead(t *testing.T, h Harness) {
	b := h.New(t)
	s := NewStore(t, b)

	one := MustAppend(t, s, Node("node-a", domain.NoStream, "a1"))
	many := MustAppend(t, s, Node("node-a", 1, "a2"), Node("node-b", domain.NoStream, "b1"),
		Node("node-c", domain.NoStream, "c1"), Node("node-b", 1, "b2"))
	if len(one) != 1 || len(many) != 4 {
		t.Fatalf("appended %d and %d events, want 1 and 4", len(one), len(many))
	}
	for _, e := range many {
		if e.TxID != many[0].TxID {
			t.Errorf("events of one append in transactions %d and %d", many[0].TxID, e.TxID)
		}
	}
	if !one[0].Cursor().Less(many[0].Cursor()) {
		t.Errorf("second append at %s is not after the first at %s", many[0].Cursor(), one[0].Cursor())
	}
	want := append(one, many...)
	all := MustReadAll(t, b)
	if len(all) != len(want) {
		t.Fatalf("read %d events, want %d", len(all), len(want))
	}
	for i, e := range all {
		w := want[i]
		if e.ID != w.ID || e.Position != w.Position || e.TxID != w.TxID || e.Stream != w.Stream ||
			e.Version != w.Version || e.Type != w.Type || !bytes.Equal(e.Data, w.Data) ||
			!bytes.Equal(e.Metadata, w.Metadata) || !e.RecordedAt.Equal(w.RecordedAt) ||
			!bytes.Equal(e.Hash, w.Hash) || !bytes.Equal(e.PrevHash, w.PrevHash) {
			t.Errorf("event %d read back as %+v, appended as %+v", i, e, w)
		}
	}
	heads, err := b.Heads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for stream, v := range map[string]int64{"node-a": 2, "node-b": 2, "node-c": 1} {
		if heads[stream].Version != v {
			t.Errorf("head of %s is %d, want %d", stream, heads[stream].Version, v)
		}
	}
	if !bytes.Equal(heads["node-b"].Hash, many[3].Hash) {
		t.Errorf("head hash of node-b is not its last event's hash")
	}
}

func testExpectedVersion(t *testing.T, h Harness) {
	s := NewStore(t, h.New(t))
	MustAppend(t, s, Node("node-a", domain.NoStream, "1"))
	MustAppend(t, s, Node("node-a", 1, "2"))
	got := MustAppend(t, s, Node("node-a", domain.AnyVersion, "3"))
	if got[0].Version != 3 {
		t.Errorf("AnyVersion append got version %d, want 3", got[0].Version)
	}
	for _, expected := range []int64{domain.NoStream, 2, 4} {
		_, err := s.Append(context.Background(), testMeta, Node("node-a", expected, "x"))
		wantCode(t, err, domain.CodeConflict)
	}
	if n := len(MustReadStream(t, s, "node-a", 0)); n != 3 {
		t.Errorf("stream has %d events after conflicts, want 3", n)
	}
}

func testWrongVersionAppendsNothing(t *testing.T, h Harness) {
	b := h.New(t)
	s := NewStore(t, b)
	MustAppend(t, s, Node("node-a", domain.NoStream, "a1"))
	_, err := s.Append(context.Background(), testMeta,
		Node("node-b", domain.NoStream, "b1"), Node("node-a", 5, "a2"), Node("node-c", domain.AnyVersion, "c1"))
	wantCode(t, err, domain.CodeConflict)
	all := MustReadAll(t, b)
	if len(all) != 1 {
		t.Fatalf("log holds %d events after a failed append, want 1", len(all))
	}
	heads, err := b.Heads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if heads["node-b"].Version != 0 || heads["node-c"].Version != 0 {
		t.Errorf("heads moved by a failed append: %v", heads)
	}
}

// testRacingAppenders runs two stores (two writers, no shared group
// commit) appending to one stream at the same expected version.
func testRacingAppenders(t *testing.T, h Harness) {
	b := h.New(t)
	stores := []*eventstore.Store{NewStore(t, b), NewStore(t, b)}
	for round := range 10 {
		stream := fmt.Sprintf("node-race-%d", round)
		start := make(chan struct{})
		errs := make([]error, len(stores))
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Append(context.Background(), testMeta, Node(stream, domain.NoStream, fmt.Sprint(i)))
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch domain.ErrorCode(err) {
			case "":
				won++
			case domain.CodeConflict:
			default:
				t.Fatalf("round %d: racing append failed: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d appenders won, want exactly 1 (errors %v)", round, won, errs)
		}
		if n := len(MustReadStream(t, b, stream, 0)); n != 1 {
			t.Fatalf("round %d: stream has %d events, want 1", round, n)
		}
	}
}

func testIdempotency(t *testing.T, h Harness) {
	b := h.New(t)
	s := NewStore(t, b)
	e := Node("node-a", domain.AnyVersion, "once")
	e.IdempotencyKey = "k1"
	first := MustAppend(t, s, e)
	MustAppend(t, s, Node("node-a", domain.AnyVersion, "other"))
	again := MustAppend(t, s, e)
	if len(again) != 1 || again[0].ID != first[0].ID || again[0].Version != first[0].Version ||
		!bytes.Equal(again[0].Hash, first[0].Hash) {
		t.Fatalf("repeat returned %+v, want the first recording %+v", again, first)
	}
	// The same key on another stream is another event.
	e.Stream = "node-b"
	if other := MustAppend(t, s, e); other[0].ID == first[0].ID {
		t.Errorf("a key on another stream returned the first stream's event")
	}
	if n := len(MustReadAll(t, b)); n != 3 {
		t.Errorf("log holds %d events, want 3", n)
	}
}

func testHashChain(t *testing.T, h Harness) {
	b := h.New(t)
	s := NewStore(t, b)
	for i := range 5 {
		MustAppend(t, s, Node("node-a", domain.AnyVersion, fmt.Sprint("a", i)), Node("node-b", domain.AnyVersion, fmt.Sprint("b", i)))
	}
	a := MustReadStream(t, b, "node-a", 0)
	if len(a) != 5 || !bytes.Equal(a[0].PrevHash, domain.ZeroHash) {
		t.Fatalf("node-a has %d events, first prev_hash %x", len(a), a[0].PrevHash)
	}
	checkChain(t, a)
	checkChain(t, MustReadStream(t, b, "node-b", 0))
	tail := MustReadStream(t, b, "node-a", 3)
	if len(tail) != 2 || tail[0].Version != 4 || tail[1].Version != 5 || !bytes.Equal(tail[0].PrevHash, a[2].Hash) {
		t.Fatalf("read from version 3 returned %d events starting at %d", len(tail), tail[0].Version)
	}
	if rest := MustReadStream(t, b, "node-a", 5); len(rest) != 0 {
		t.Errorf("read after the head returned %d events", len(rest))
	}
}
