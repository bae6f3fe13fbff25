package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// Tailing scenario size: appenders, transactions each, events per transaction.
const (
	tailAppenders = 32
	tailTxs       = 5
	tailEvents    = 3
)

// RunSlowAppenders runs the tailing scenario's writers: tailAppenders
// goroutines, each on its own stream, each committing tailTxs transactions
// of tailEvents events and holding some open for 0–20 ms before COMMIT, so
// transactions that took their positions early commit late. It returns the
// number of events appended. Adapters reuse it to show what a naive reader
// would miss.
func RunSlowAppenders(ctx context.Context, b eventstore.Backend) (int, error) {
	errs := make(chan error, tailAppenders)
	var wg sync.WaitGroup
	for i := range tailAppenders {
		stream := fmt.Sprintf("node-tail-%d-%s", i, uuid.NewString()[:8])
		wg.Go(func() {
			for range tailTxs {
				hold := time.Duration(0)
				if rand.IntN(2) == 0 {
					hold = time.Duration(rand.IntN(20_000)) * time.Microsecond
				}
				if err := appendDirect(ctx, b, stream, tailEvents, hold); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return tailAppenders * tailTxs * tailEvents, errors.Join(all...)
}

// testCommitSafeTailing tails the log while slow transactions commit out of
// position order: the tailer must see every event exactly once, in the
// order a later full read gives.
func testCommitSafeTailing(t *testing.T, h Harness) {
	b := h.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var total int
	var appendErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		total, appendErr = RunSlowAppenders(ctx, b)
	}()

	var seen []domain.Event
	ids := map[uuid.UUID]bool{}
	var after domain.Cursor
	finished := false
	var settle time.Time // once the appenders are done: how long to wait for the rest
	for {
		page, err := b.ReadAll(ctx, after, 37)
		if err != nil {
			t.Fatalf("tail after %s: %v", after, err)
		}
		for _, e := range page {
			if ids[e.ID] {
				t.Fatalf("tailer saw %s@%d twice", e.Stream, e.Version)
			}
			ids[e.ID] = true
			if !after.Less(e.Cursor()) {
				t.Fatalf("tailer went back from %s to %s", after, e.Cursor())
			}
			after = e.Cursor()
			seen = append(seen, e)
		}
		// Every commit is in, but the commit-safe read stops below any
		// transaction open in the cluster (other tests' databases too):
		// keep tailing until all showed up or a generous deadline passed.
		if finished && len(page) == 0 && (len(seen) >= total || time.Now().After(settle)) {
			break
		}
		select {
		case <-done:
			if !finished {
				finished, settle = true, time.Now().Add(15*time.Second)
			}
		default:
		}
		if len(page) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if appendErr != nil {
		t.Fatalf("appenders: %v", appendErr)
	}
	if len(seen) != total {
		t.Fatalf("tailer saw %d events, %d were committed", len(seen), total)
	}
	again := MustReadAll(t, b)
	if len(again) != len(seen) {
		t.Fatalf("full read returned %d events, tailer saw %d", len(again), len(seen))
	}
	for i := range again {
		if again[i].ID != seen[i].ID {
			t.Fatalf("order differs at %d: full read has %s@%d, tailer saw %s@%d",
				i, again[i].Stream, again[i].Version, seen[i].Stream, seen[i].Version)
		}
	}
}

func testImmutable(t *testing.T, h Harness) {
	b := h.New(t)
	s := NewStore(t, b)
	MustAppend(t, s, Node("node-a", domain.NoStream, "a1"), Node("node-a", 1, "a2"))
	update, del, truncate := h.Mutate(b)
	for name, err := range map[string]error{"UPDATE": update, "DELETE": del, "TRUNCATE": truncate} {
		if err == nil {
			t.Errorf("%s of the log succeeded", name)
		}
	}
	if n := len(MustReadAll(t, b)); n != 2 {
		t.Errorf("log holds %d events after the attempts, want 2", n)
	}
}

func testVerifyFindsTamper(t *testing.T, h Harness) {
	b := h.New(t)
	s := NewStore(t, b)
	for i := range 4 {
		MustAppend(t, s, Node("node-a", domain.AnyVersion, fmt.Sprint("a", i)), Node("node-b", domain.AnyVersion, fmt.Sprint("b", i)))
	}
	ctx := context.Background()
	MustReadAll(t, b) // Verify reads the log as far as it is commit-safe
	rep, err := eventstore.Verify(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bad != nil || rep.Events != 8 || rep.Streams != 2 {
		t.Fatalf("clean log: %+v (bad %+v); want 8 events, 2 streams, nothing bad", rep, rep.Bad)
	}
	h.Tamper(t, b, "node-b", 3)
	rep, err = eventstore.Verify(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bad == nil || rep.Bad.Stream != "node-b" || rep.Bad.Version != 3 {
		t.Fatalf("after tampering node-b@3 Verify reported %+v", rep.Bad)
	}
}

// testCloseDrains closes a store while commands are queued: every Execute
// either was refused (ErrClosed) or completed, and the log holds exactly
// the completed ones.
func testCloseDrains(t *testing.T, h Harness) {
	b := h.New(t)
	s, err := eventstore.New(eventstore.Config{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	results := make([][]domain.Event, n)
	errs := make([]error, n)
	firstDone := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = s.Append(context.Background(), testMeta, Node(fmt.Sprintf("node-drain-%d", i%7), domain.AnyVersion, fmt.Sprint(i)))
			once.Do(func() { close(firstDone) })
		})
	}
	// Close while the rest are queued or arriving.
	<-firstDone
	s.Close()
	wg.Wait()
	committed := map[uuid.UUID]bool{}
	for i, err := range errs {
		switch {
		case errors.Is(err, eventstore.ErrClosed):
		case err != nil:
			t.Fatalf("append %d: %v", i, err)
		default:
			committed[results[i][0].ID] = true
		}
	}
	if len(committed) == 0 {
		t.Fatalf("no command completed before close")
	}
	all := MustReadAll(t, b)
	if len(all) != len(committed) {
		t.Fatalf("log holds %d events, %d appends reported success", len(all), len(committed))
	}
	for _, e := range all {
		if !committed[e.ID] {
			t.Fatalf("event %s@%d is in the log but its append did not report success", e.Stream, e.Version)
		}
	}
}
