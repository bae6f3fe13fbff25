package postgres

import (
	"context"
	"log/slog"
	"testing"

	"github.com/chatlog/chat/adapters/eventstore/storetest"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// fillMessages appends n messages spread over 16 rooms, 500 to a
// transaction: a log to fold.
func fillMessages(b *testing.B, db *DB, n int) {
	b.Helper()
	s := storetest.NewStore(b, db)
	rooms := make([]uuid.UUID, 16)
	for i := range rooms {
		rooms[i] = uuid.New()
	}
	ctx := context.Background()
	for done := 0; done < n; {
		batch := make([]domain.NewEvent, 0, 500)
		for i := 0; i < 500 && done < n; i, done = i+1, done+1 {
			batch = append(batch, message(rooms[done%len(rooms)]))
		}
		if _, err := s.Append(ctx, domain.Metadata{ActorID: "bench"}, batch...); err != nil {
			b.Fatal(err)
		}
	}
}

func historyRunner(b *testing.B, db *DB) *projections.Runner {
	b.Helper()
	return runnerOf(b, db, projections.History{})
}

func runnerOf(b *testing.B, db *DB, p projections.Projection) *projections.Runner {
	b.Helper()
	r, err := projections.NewRunner(projections.RunnerConfig{Store: db.Projections(), Log: db, Head: db,
		Projections: []projections.Projection{p}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkProjectionApply: the history projection (frames, messages and
// the search index) catching up with a log of messages, as after a restart.
func BenchmarkProjectionApply(b *testing.B) {
	const n = 20_000
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		db := mustOpen(b)
		fillMessages(b, db, n)
		r := historyRunner(b, db)
		cpu := startCPUMeter(b, db)
		b.StartTimer()
		if err := r.Start(context.Background()); err != nil { // prepares, then catches up
			b.Fatal(err)
		}
		b.StopTimer()
		cpu.report(b, n)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRebuild: building a new version of history beside the serving
// one from position zero, then switching.
func BenchmarkRebuild(b *testing.B) { benchRebuild(b, projections.History{}) }

// BenchmarkRebuildRooms: the same for rooms, whose fold only raises each
// room's head: mostly the cost of reading and decoding the log.
func BenchmarkRebuildRooms(b *testing.B) { benchRebuild(b, projections.Rooms{}) }

func benchRebuild(b *testing.B, p projections.Projection) {
	const n = 50_000
	db := mustOpen(b)
	fillMessages(b, db, n)
	r := runnerOf(b, db, p)
	if err := r.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := startCPUMeter(b, db)
	b.ResetTimer()
	for b.Loop() {
		if err := r.Rebuild(context.Background(), p.Name(), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
	cpu.report(b, int64(b.N*n))
}
