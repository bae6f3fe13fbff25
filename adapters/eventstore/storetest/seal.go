package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
)

// testSealFindsCut seals three streams, cuts node-b from fromVersion on
// (removing it whole, or rewinding it) and expects Verify to blame the
// seal, although every remaining chain holds.
func testSealFindsCut(t *testing.T, h Harness, fromVersion int64) {
	b := h.New(t)
	s := NewStore(t, b)
	for i := range 4 {
		MustAppend(t, s, Node("node-a", domain.AnyVersion, fmt.Sprint("a", i)),
			Node("node-b", domain.AnyVersion, fmt.Sprint("b", i)), Node("node-c", domain.AnyVersion, fmt.Sprint("c", i)))
	}
	ctx := context.Background()
	sealer := &eventstore.Sealer{Store: s, Reader: b}
	MustReadAll(t, b) // seals cover the log as far as it is commit-safe
	seal, err := sealer.Seal(ctx)
	if err != nil || seal == nil || seal.Streams != 3 || len(seal.TreeHash) != 64 {
		t.Fatalf("seal = %+v, %v; want 3 streams and a tree hash", seal, err)
	}
	MustReadAll(t, b)
	if again, err := sealer.Seal(ctx); err != nil || again != nil {
		t.Fatalf("a seal with nothing new: %+v, %v; want none", again, err)
	}
	MustAppend(t, s, Node("node-d", domain.AnyVersion, "d0")) // after the seal: not covered, still fine
	rep, err := eventstore.Verify(ctx, b)
	if err != nil || rep.Bad != nil || rep.Seal == nil || !rep.Seal.OK || rep.Seal.Streams != 3 {
		t.Fatalf("intact sealed log: %+v (bad %+v, seal %+v), %v", rep, rep.Bad, rep.Seal, err)
	}
	h.Cut(t, b, "node-b", fromVersion)
	rep, err = eventstore.Verify(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bad == nil || rep.Bad.Stream != domain.SealStream || rep.Seal.OK {
		t.Fatalf("after cutting node-b from version %d Verify reported %+v (seal %+v)", fromVersion, rep.Bad, rep.Seal)
	}
}
