package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
)

// testStreamOrderInLog: the log's commit order keeps each stream's
// versions in order, even when transactions from several stores (nodes)
// queue for the same stream. Gateways rely on it: a room's seq n+1 read
// before its seq n is a gap they must heal, and could skip. On PostgreSQL
// a transaction that got its id before queueing for a stream's lock used
// to land before the holder it queued behind.
func testStreamOrderInLog(t *testing.T, h Harness) {
	b := h.New(t)
	stores := []*eventstore.Store{NewStore(t, b), NewStore(t, b), NewStore(t, b)}
	const appenders, rounds = 12, 25
	errs := make(chan error, appenders)
	var wg sync.WaitGroup
	for i := range appenders {
		s := stores[i%len(stores)]
		wg.Go(func() {
			// Each append holds its own stream, which sorts first, and
			// the shared one: it locks its own, then queues for the shared.
			own := fmt.Sprintf("a-order-%02d", i)
			for r := range rounds {
				_, err := s.Append(context.Background(), testMeta,
					Node(own, domain.AnyVersion, fmt.Sprint(r)), Node("z-order-shared", domain.AnyVersion, own))
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("append: %v", err)
	}
	last := map[string]int64{}
	for _, e := range MustReadAll(t, b) {
		if e.Version != last[e.Stream]+1 {
			t.Fatalf("log has %s@%d after %s@%d: a stream's versions must follow one another in commit order",
				e.Stream, e.Version, e.Stream, last[e.Stream])
		}
		last[e.Stream] = e.Version
	}
	if got := last["z-order-shared"]; got != appenders*rounds {
		t.Fatalf("shared stream at version %d, want %d", got, appenders*rounds)
	}
}
