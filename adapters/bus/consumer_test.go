package bus

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
)

// slowRunner records the batches it is handed; the first one blocks until
// release is closed, as a slow transaction would.
type slowRunner struct {
	subscribed chan struct{}
	started    chan struct{} // closed by the first HandleBatch
	release    chan struct{}
	once       sync.Once
	mu         sync.Mutex
	calls      [][2]int64 // from, to positions
	events     int
	// folds is the projection's interest; nil folds every event.
	folds func(domain.Event) bool
}

func (r *slowRunner) Folds(_ string, events []domain.Event) bool {
	if r.folds == nil {
		return true
	}
	for _, e := range events {
		if r.folds(e) {
			return true
		}
	}
	return false
}

// waitCalls waits until the runner has been handed n batches and returns
// them with the number of events.
func (r *slowRunner) waitCalls(t *testing.T, n int) ([][2]int64, int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		calls, events := append([][2]int64(nil), r.calls...), r.events
		r.mu.Unlock()
		if len(calls) >= n {
			return calls, events
		}
		if time.Now().After(deadline) {
			t.Fatalf("runner got batches %v, want %d", calls, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *slowRunner) HandleBatch(_ context.Context, _ string, from, to domain.Cursor, events []domain.Event) error {
	r.mu.Lock()
	first := len(r.calls) == 0
	r.calls = append(r.calls, [2]int64{from.Position, to.Position})
	r.events += len(events)
	r.mu.Unlock()
	if first {
		close(r.started)
		<-r.release
	}
	return nil
}

func (r *slowRunner) CatchUp(context.Context, string) error {
	r.once.Do(func() { close(r.subscribed) })
	return nil
}

func (r *slowRunner) Status(context.Context) ([]projections.Status, error) { return nil, nil }

func batchEvent(pos int64) domain.Event {
	return domain.Event{Stream: "s", Version: pos, Type: "Test", Data: []byte(`{}`), Metadata: []byte(`{}`),
		Position: pos, TxID: uint64(pos), RecordedAt: time.UnixMilli(pos).UTC()}
}

// TestQueuedBatchesAreMerged: batches that wait behind a slow apply are
// handed to the runner as one (one transaction, not one each), and a
// batch that does not follow on is handed on its own.
func TestQueuedBatchesAreMerged(t *testing.T) {
	b := NewEmbedded(Config{Logger: quietLogger()})
	r := &slowRunner{subscribed: make(chan struct{}), started: make(chan struct{}), release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.RunProjections(ctx, r, []string{"p"}, time.Hour); close(done) }()
	defer func() {
		cancel()
		_ = b.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("RunProjections did not stop")
		}
	}()
	<-r.subscribed

	cursor := func(pos int64) domain.Cursor { return domain.Cursor{TxID: uint64(pos), Position: pos} }
	publish := func(from, to int64) {
		var events []domain.Event
		for p := from + 1; p <= to; p++ {
			events = append(events, batchEvent(p))
		}
		if err := b.PublishBatch(ctx, cursor(from), cursor(to), events); err != nil && ctx.Err() == nil {
			t.Error(err)
		}
	}
	// The embedded bus returns from a publish once the message is acked,
	// so they run beside the test: a bus that acks only after applying
	// would block them until the release.
	queued := make(chan struct{})
	go func() {
		publish(0, 1) // blocks the runner
		<-r.started
		for p := int64(1); p < 10; p++ {
			publish(p, p+1)
		}
		publish(20, 21) // a gap: not merged
		close(queued)
	}()
	select {
	case <-queued:
	case <-time.After(3 * time.Second):
		close(r.release)
		t.Fatal("batches behind a slow apply are not taken off the bus until it ends")
	}
	close(r.release)
	want := [][2]int64{{0, 1}, {1, 10}, {20, 21}}
	if calls, events := r.waitCalls(t, len(want)); !slices.Equal(calls, want) || events != 11 {
		t.Fatalf("runner got batches %v (%d events), want %v (11 events)", calls, events, want)
	}
}

// runRecorded runs the projection "p" of r on an embedded bus configured
// by cfg until the test ends, and returns a publish of batch from..to.
func runRecorded(t *testing.T, cfg Config, r *slowRunner) func(from, to int64, typ string) {
	t.Helper()
	cfg.Logger = quietLogger()
	b := NewEmbedded(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.RunProjections(ctx, r, []string{"p"}, time.Hour); close(done) }()
	t.Cleanup(func() {
		cancel()
		_ = b.Close()
		<-done
	})
	<-r.subscribed
	cursor := func(pos int64) domain.Cursor { return domain.Cursor{TxID: uint64(pos), Position: pos} }
	return func(from, to int64, typ string) {
		var events []domain.Event
		for p := from + 1; p <= to; p++ {
			e := batchEvent(p)
			e.Type = typ
			events = append(events, e)
		}
		if err := b.PublishBatch(ctx, cursor(from), cursor(to), events); err != nil {
			t.Error(err)
		}
	}
}

// TestBatchesOnlyMovingTheCheckpointWait: batches a projection folds
// nothing of wait for the ones after them and share their call; the first
// batch it folds something of goes at once, with them.
func TestBatchesOnlyMovingTheCheckpointWait(t *testing.T) {
	r := &slowRunner{subscribed: make(chan struct{}), started: make(chan struct{}), release: make(chan struct{}),
		folds: func(e domain.Event) bool { return e.Type == "Folded" }}
	close(r.release)
	publish := runRecorded(t, Config{IdleMerge: time.Hour}, r)
	for p := int64(0); p < 5; p++ {
		publish(p, p+1, "Ignored")
	}
	publish(5, 6, "Folded")
	if calls, events := r.waitCalls(t, 1); !slices.Equal(calls, [][2]int64{{0, 6}}) || events != 6 {
		t.Fatalf("runner got batches %v (%d events), want [[0 6]] (6 events)", calls, events)
	}
}

// TestBatchesOnlyMovingTheCheckpointGoAfterIdleMerge: without a batch to
// fold, they are applied once IdleMerge passed.
func TestBatchesOnlyMovingTheCheckpointGoAfterIdleMerge(t *testing.T) {
	r := &slowRunner{subscribed: make(chan struct{}), started: make(chan struct{}), release: make(chan struct{}),
		folds: func(domain.Event) bool { return false }}
	close(r.release)
	publish := runRecorded(t, Config{IdleMerge: 20 * time.Millisecond}, r)
	publish(0, 1, "Ignored")
	publish(1, 3, "Ignored")
	// One call or two, depending on how fast the second publish was.
	calls, events := r.waitCalls(t, 1)
	if calls[len(calls)-1][1] != 3 {
		calls, events = r.waitCalls(t, 2)
	}
	if calls[0][0] != 0 || calls[len(calls)-1][1] != 3 || events != 3 {
		t.Fatalf("runner got batches %v (%d events), want them to cover 0..3 (3 events)", calls, events)
	}
}
