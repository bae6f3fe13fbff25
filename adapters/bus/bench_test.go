package bus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatlog/chat/projections"
	"github.com/chatlog/chat/projections/projectiontest"
)

// BenchmarkPipeline measures log → relay → chat.events → consumer →
// runner (in-memory store) → chat.updates, in events/s.
func BenchmarkPipeline(b *testing.B) {
	for _, mode := range []string{"embedded", "redis"} {
		b.Run(mode, func(b *testing.B) {
			const n = 50_000
			b.ReportAllocs()
			for i := range b.N {
				b.StopTimer()
				cfg := Config{Prefix: fmt.Sprintf("bench%d:", i), Node: "n1", Logger: quietLogger()}
				var bus *Bus
				if mode == "redis" {
					client, prefix := MustRedis(b)
					cfg.Prefix = prefix
					var err error
					if bus, err = NewRedis(client, cfg); err != nil {
						b.Fatal(err)
					}
				} else {
					bus = NewEmbedded(cfg)
				}
				log, store := projectiontest.NewLog(), projectiontest.NewStore()
				r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Log: log,
					Projections: []projections.Projection{&projectiontest.Recorder{ProjName: "rec", V: 1}},
					Updates:     bus, Logger: quietLogger()})
				if err != nil {
					b.Fatal(err)
				}
				if err := store.Prepare(context.Background(), "rec", 1); err != nil {
					b.Fatal(err)
				}
				relay, err := NewRelay(RelayConfig{Source: log, Bus: bus, Logger: quietLogger()})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				sr := &signallingRunner{Runner: r, subscribed: make(chan struct{})}
				done := make(chan struct{}, 2)
				go func() { bus.RunProjections(ctx, sr, []string{"rec"}, time.Hour); done <- struct{}{} }()
				<-sr.subscribed
				log.AppendN(n, 10)
				b.StartTimer()
				go func() { _ = relay.Run(ctx); done <- struct{}{} }()
				head, _ := log.LogHead(ctx)
				for store.Checkpoint("rec") != head {
					time.Sleep(time.Millisecond)
				}
				b.StopTimer()
				cancel()
				<-done
				<-done
				_ = bus.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
