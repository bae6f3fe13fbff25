package projections_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/chatlog/chat/projections/projectiontest"
)

// The in-memory store makes these measure the runner itself (decode,
// dispatch, checkpoint bookkeeping), not a database.

func BenchmarkHandleBatch(b *testing.B) {
	const perBatch = 256
	log := projectiontest.NewLog()
	log.AppendN(perBatch, 8)
	events, err := log.ReadAll(context.Background(), domain.Cursor{}, perBatch)
	if err != nil {
		b.Fatal(err)
	}
	to := events[len(events)-1].Cursor()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		store := projectiontest.NewStore()
		r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Log: log,
			Projections: []projections.Projection{&projectiontest.Recorder{ProjName: "rec", V: 1}},
			Updates:     &projectiontest.Updates{}})
		if err != nil {
			b.Fatal(err)
		}
		if err := store.Prepare(context.Background(), "rec", 1); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := r.HandleBatch(context.Background(), "rec", domain.Cursor{}, to, events); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkRebuild(b *testing.B) {
	const n = 100_000
	log := projectiontest.NewLog()
	log.AppendN(n, 10)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		store := projectiontest.NewStore()
		r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Log: log,
			Projections: []projections.Projection{&projectiontest.Recorder{ProjName: "rec", V: 1}}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := r.Rebuild(context.Background(), "rec", nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}
