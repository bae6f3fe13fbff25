package bus

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/chatlog/chat/projections/projectiontest"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// modes runs a test against the embedded bus and against Redis.
// In embedded mode every "node" shares the one in-process bus.
func modes(t *testing.T, test func(t *testing.T, newBus func(node string) *Bus)) {
	t.Run("embedded", func(t *testing.T) {
		b := newTestBus(t, nil, "", "n1")
		test(t, func(string) *Bus { return b })
	})
	t.Run("redis", func(t *testing.T) {
		client, prefix := MustRedis(t)
		test(t, func(node string) *Bus { return newTestBus(t, client, prefix, node) })
	})
}

func TestEndToEnd(t *testing.T) {
	modes(t, func(t *testing.T, newBus func(string) *Bus) {
		h := newHarness(t)
		b := newBus("n1")
		h.startRunner(b)
		h.subscribeUpdates(b)
		h.runConsumers(b)
		h.runRelay(context.Background(), b)
		for range 20 {
			h.log.AppendN(37, 3)
			time.Sleep(5 * time.Millisecond)
		}
		h.waitExactlyTheLog()
		h.waitUpdates()
	})
}

func TestFlushMidStreamLosesNothing(t *testing.T) {
	client, prefix := MustRedis(t)
	h := newHarness(t)
	b := newTestBus(t, client, prefix, "n1")
	h.startRunner(b)
	h.runConsumers(b)
	h.runRelay(context.Background(), b)
	h.log.AppendN(300, 7)
	time.Sleep(50 * time.Millisecond)
	// Redis loses everything: streams, consumer groups, pending entries.
	deletePrefix(t, client, prefix)
	h.log.AppendN(300, 7)
	time.Sleep(50 * time.Millisecond)
	deletePrefix(t, client, prefix)
	h.log.AppendN(10, 1)
	h.waitExactlyTheLog()
}

func TestRelayStoppedHardAndRestarted(t *testing.T) {
	modes(t, func(t *testing.T, newBus func(string) *Bus) {
		h := newHarness(t)
		b := newBus("n1")
		h.startRunner(b)
		h.subscribeUpdates(b)
		h.runConsumers(b)
		ctx, kill := context.WithCancel(context.Background())
		h.runRelay(ctx, b)
		h.log.AppendN(200, 5)
		time.Sleep(20 * time.Millisecond)
		kill()
		// A crash between publishing and saving the checkpoint republishes:
		// rewind the relay's checkpoint to force exactly that.
		if err := h.log.SaveRelayCheckpoint(context.Background(), h.store.Checkpoint("rec")); err != nil {
			t.Fatal(err)
		}
		h.log.AppendN(200, 5)
		h.runRelay(context.Background(), b)
		h.log.AppendN(50, 5)
		h.waitExactlyTheLog()
		h.waitUpdates()
	})
}

// TestRelayReadsHeldEventsSoon: events committed behind a transaction
// still running are published soon after it ends, though no commit wakes
// the relay then and its poll is a minute away.
func TestRelayReadsHeldEventsSoon(t *testing.T) {
	modes(t, func(t *testing.T, newBus func(string) *Bus) {
		h := newHarness(t)
		b := newBus("n1")
		h.startRunner(b)
		h.runConsumers(b)
		h.runRelayPolling(context.Background(), b, time.Minute)
		h.log.AppendN(5, 5)
		h.waitExactlyTheLog()
		h.log.HoldHorizon()
		h.log.AppendN(5, 5) // wakes the relay, which reads nothing yet
		time.Sleep(50 * time.Millisecond)
		h.log.ReleaseHorizon()
		want := h.log.Positions()
		for deadline := time.Now().Add(2 * time.Second); !slices.Equal(h.store.Recorded("rec"), want); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("2 s after the horizon moved the projection holds %d of %d events", len(h.store.Recorded("rec")), len(want))
			}
		}
	})
}

func TestStandbyRelayTakesOver(t *testing.T) {
	modes(t, func(t *testing.T, newBus func(string) *Bus) {
		h := newHarness(t)
		b1, b2 := newBus("n1"), newBus("n2")
		h.startRunner(b1)
		h.subscribeUpdates(b1)
		h.runConsumers(b1)
		h.runRelay(context.Background(), b1)
		h.runRelay(context.Background(), b2)
		h.log.AppendN(100, 4)
		time.Sleep(30 * time.Millisecond)
		for range 3 {
			h.log.RevokeLeadership(LeadershipName) // the leader's session died
			h.log.AppendN(100, 4)
			time.Sleep(30 * time.Millisecond)
		}
		h.waitExactlyTheLog()
		h.waitUpdates()
	})
}

func TestProjectionFailingMidBatch(t *testing.T) {
	modes(t, func(t *testing.T, newBus func(string) *Bus) {
		h := newHarness(t)
		failed := make(chan struct{})
		fail := projectiontest.FailOnce(123)
		h.rec.Fail = func(e *domain.Event) error {
			err := fail(e)
			if err != nil {
				close(failed)
			}
			return err
		}
		b := newBus("n1")
		h.startRunner(b)
		h.subscribeUpdates(b)
		h.runConsumers(b)
		h.runRelay(context.Background(), b)
		h.log.AppendN(300, 10)
		select {
		case <-failed:
		case <-time.After(5 * time.Second):
			t.Fatal("the injected failure never happened")
		}
		h.waitExactlyTheLog()
		h.waitUpdates()
	})
}

func TestTwoNodesShareAConsumerGroup(t *testing.T) {
	client, prefix := MustRedis(t)
	h := newHarness(t)
	b1, b2 := newTestBus(t, client, prefix, "n1"), newTestBus(t, client, prefix, "n2")
	h.startRunner(b1)
	h.subscribeUpdates(b1)
	h.runConsumers(b1)
	h.goRun(context.Background(), func(ctx context.Context) {
		b2.RunProjections(ctx, h.runner, h.runner.Names(), time.Hour)
	})
	h.runRelay(context.Background(), b1)
	h.log.AppendN(500, 5)
	h.waitExactlyTheLog()
	h.waitUpdates()
}

func TestBadEntryIsSkipped(t *testing.T) {
	client, prefix := MustRedis(t)
	h := newHarness(t)
	b := newTestBus(t, client, prefix, "n1")
	h.startRunner(b)
	h.runConsumers(b)
	h.log.AppendN(10, 2)
	events, _ := h.log.ReadAll(context.Background(), domain.Cursor{}, 10)
	ctx := context.Background()
	// Entries Watermill did not write, and a batch with a corrupt payload.
	for _, values := range []map[string]any{
		{"garbage": "1"},
		{"_watermill_message_uuid": "x", "payload": "not a batch"},
	} {
		if err := client.XAdd(ctx, &redis.XAddArgs{Stream: b.Topic(TopicEvents), Values: values}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.PublishBatch(ctx, domain.Cursor{}, events[len(events)-1].Cursor(), events); err != nil {
		t.Fatal(err)
	}
	h.waitExactlyTheLog()
}

func TestFanOutReachesEveryNode(t *testing.T) {
	modes(t, func(t *testing.T, newBus func(string) *Bus) {
		b1, b2 := newBus("n1"), newBus("n2")
		var mu sync.Mutex
		got := map[string][]int64{}
		signals := map[string]int{}
		for name, b := range map[string]*Bus{"n1": b1, "n2": b2} {
			ready := make(chan struct{}, 2)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			t.Cleanup(func() { cancel(); wg.Wait() })
			wg.Go(func() {
				b.SubscribeUpdates(ctx, func(us []projections.Update) {
					mu.Lock()
					defer mu.Unlock()
					for _, u := range us {
						got[name] = append(got[name], u.Seq)
					}
				}, func() { ready <- struct{}{} })
			})
			wg.Go(func() {
				b.SubscribeSignals(ctx, func(Signal) {
					mu.Lock()
					defer mu.Unlock()
					signals[name]++
				}, func() { ready <- struct{}{} })
			})
			<-ready
			<-ready
		}
		var want []int64
		for i := range int64(50) {
			want = append(want, 2*i, 2*i+1)
			if err := b1.PublishUpdates(context.Background(), []projections.Update{
				{Kind: projections.UpdateRoomEvent, Room: uuid.New(), Seq: 2 * i},
				{Kind: projections.UpdateRoomEvent, Room: uuid.New(), Seq: 2*i + 1},
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := b2.PublishSignal(context.Background(), Signal{Room: uuid.New(), Frame: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			done := slices.Equal(got["n1"], want) && slices.Equal(got["n2"], want) && signals["n1"] == 1 && signals["n2"] == 1
			mu.Unlock()
			if done {
				return
			}
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("n1 got %d updates, n2 %d (want %d each); signals %v", len(got["n1"]), len(got["n2"]), len(want), signals)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// countingSource counts the relay checkpoint's saves.
type countingSource struct {
	*projectiontest.Log
	saves atomic.Int64
}

func (c *countingSource) SaveRelayCheckpoint(ctx context.Context, cp domain.Cursor) error {
	c.saves.Add(1)
	return c.Log.SaveRelayCheckpoint(ctx, cp)
}

// The relay saves its checkpoint now and then while it publishes, not per
// batch (each save is a transaction on the way of every event), and keeps
// what it published when it shuts down.
func TestRelaySavesItsCheckpointNowAndThen(t *testing.T) {
	h := newHarness(t)
	b := newTestBus(t, nil, "", "n1")
	src := &countingSource{Log: h.log}
	relay, err := NewRelay(RelayConfig{Source: src, Bus: b, BatchSize: 10, Poll: time.Hour,
		SaveEvery: 150 * time.Millisecond, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var batches, events atomic.Int64
	subscribed := make(chan struct{})
	var once sync.Once
	h.goRun(context.Background(), func(ctx context.Context) {
		b.consume(ctx, TopicEvents, "counter", func() { once.Do(func() { close(subscribed) }) }, func(msg *message.Message) {
			batch, err := DecodeBatch(msg.Payload)
			if err != nil {
				t.Error(err)
			}
			batches.Add(1)
			events.Add(int64(len(batch)))
			msg.Ack()
		})
	})
	<-subscribed
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := relay.Run(ctx); err != nil {
			t.Errorf("relay: %v", err)
		}
	}()
	start := time.Now()
	for range 60 {
		h.log.AppendN(5, 5)
		time.Sleep(5 * time.Millisecond)
	}
	head, _ := h.log.LogHead(context.Background())
	for deadline := time.Now().Add(2 * time.Second); events.Load() < 300; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 300 events published", events.Load())
		}
	}
	if batches.Load() < 30 {
		t.Fatalf("300 events in %d batches; the test needs many", batches.Load())
	}
	elapsed := time.Since(start)
	if most := int64(elapsed/(150*time.Millisecond)) + 1; src.saves.Load() > most {
		t.Errorf("%d checkpoint saves for %d batches in %v; want at most %d", src.saves.Load(), batches.Load(), elapsed, most)
	}
	stop()
	<-done
	if cp, _ := h.log.LoadRelayCheckpoint(context.Background()); cp != head {
		t.Errorf("checkpoint after shutdown %s, want the last event published %s", cp, head)
	}
}
