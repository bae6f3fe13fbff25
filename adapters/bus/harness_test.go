package bus

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/bus/redistest"
	"github.com/chatlog/chat/projections"
	"github.com/chatlog/chat/projections/projectiontest"
	"github.com/redis/go-redis/v9"
)

// MustRedis returns a client of the test Redis and a fresh key prefix
// whose keys are deleted at cleanup.
func MustRedis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	return redistest.New(tb)
}

func deletePrefix(tb testing.TB, client *redis.Client, prefix string) {
	tb.Helper()
	redistest.DeletePrefix(tb, client, prefix)
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// node is one process's projection side: a runner over the shared store
// and log, consuming from a bus.
type harness struct {
	t       *testing.T
	log     *projectiontest.Log
	store   *projectiontest.Store
	rec     *projectiontest.Recorder
	runner  *projections.Runner
	mu      sync.Mutex
	updates []int64 // Seq of every update the fan-out delivered
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, log: projectiontest.NewLog(), store: projectiontest.NewStore(),
		rec: &projectiontest.Recorder{ProjName: "rec", V: 1}}
	return h
}

// startRunner builds the runner publishing to b and prepares it.
func (h *harness) startRunner(b *Bus) {
	h.t.Helper()
	r, err := projections.NewRunner(projections.RunnerConfig{
		Store: h.store, Log: h.log, Head: h.log, Projections: []projections.Projection{h.rec},
		Updates: b, Logger: quietLogger(), ReadBatch: 50,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.runner = r
}

// goRun runs f until the test ends (or ctx is cancelled by the caller).
func (h *harness) goRun(ctx context.Context, f func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	h.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// subscribeUpdates collects every update the fan-out delivers and returns
// once the subscription is in place.
func (h *harness) subscribeUpdates(b *Bus) {
	h.t.Helper()
	ready := make(chan struct{})
	var once sync.Once
	h.goRun(context.Background(), func(ctx context.Context) {
		b.SubscribeUpdates(ctx, func(us []projections.Update) {
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, u := range us {
				h.updates = append(h.updates, u.Seq)
			}
		}, func() { once.Do(func() { close(ready) }) })
	})
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		h.t.Fatal("updates subscription not ready")
	}
}

func (h *harness) runRelay(ctx context.Context, b *Bus) {
	h.runRelayPolling(ctx, b, 50*time.Millisecond)
}

// runRelayPolling runs a relay whose backup poll is every poll.
func (h *harness) runRelayPolling(ctx context.Context, b *Bus, poll time.Duration) {
	h.t.Helper()
	relay, err := NewRelay(RelayConfig{Source: h.log, Bus: b, BatchSize: 40, Poll: poll, Logger: quietLogger()})
	if err != nil {
		h.t.Fatal(err)
	}
	h.goRun(ctx, func(ctx context.Context) {
		if err := relay.Run(ctx); err != nil {
			h.t.Errorf("relay: %v", err)
		}
	})
}

// runConsumers consumes with the periodic catch-up effectively off, so the
// test sees the bus paths (batches, heal, re-subscription) at work. It
// returns once the subscription is in place.
func (h *harness) runConsumers(b *Bus) {
	h.t.Helper()
	sr := &signallingRunner{Runner: h.runner, subscribed: make(chan struct{})}
	h.goRun(context.Background(), func(ctx context.Context) {
		b.RunProjections(ctx, sr, h.runner.Names(), time.Hour)
	})
	select {
	case <-sr.subscribed:
	case <-time.After(5 * time.Second):
		h.t.Fatal("projection consumer not subscribed")
	}
}

// signallingRunner tells when RunProjections first caught up, which it
// does right after subscribing.
type signallingRunner struct {
	*projections.Runner
	once       sync.Once
	subscribed chan struct{}
}

func (s *signallingRunner) CatchUp(ctx context.Context, name string) error {
	err := s.Runner.CatchUp(ctx, name)
	s.once.Do(func() { close(s.subscribed) })
	return err
}

// waitExactlyTheLog waits until the projection holds every log event once,
// in order, and fails if it does not within a few seconds.
func (h *harness) waitExactlyTheLog() {
	h.t.Helper()
	want := h.log.Positions()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := h.store.Recorded("rec")
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("projection holds %d events (%v…), log has %d", len(got), head(got), len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitUpdates waits until the fan-out delivered exactly the log's
// positions, in order.
func (h *harness) waitUpdates() {
	h.t.Helper()
	want := h.log.Positions()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		got := slices.Clone(h.updates)
		h.mu.Unlock()
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) || len(got) > len(want) {
			h.t.Fatalf("updates delivered %d (%v…), log has %d", len(got), head(got), len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func head(s []int64) []int64 { return s[:min(len(s), 10)] }

func newTestBus(t *testing.T, client *redis.Client, prefix, node string) *Bus {
	t.Helper()
	cfg := Config{Prefix: prefix, Node: node, Logger: quietLogger(), RetryDelay: 50 * time.Millisecond}
	if client == nil {
		b := NewEmbedded(cfg)
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	b, err := NewRedis(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}
