package postgres

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/chatlog/chat/adapters/eventstore/storetest"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

func message(room uuid.UUID) domain.NewEvent {
	return domain.NewEvent{Stream: domain.RoomStream(room), ExpectedVersion: domain.AnyVersion,
		Payload: &domain.MessagePosted{RoomID: room, MessageID: uuid.Must(uuid.NewV7()), ClientID: uuid.New(),
			Author: domain.UserRef{ID: room, Username: "bench"}, Body: "hello, this is a chat message of ordinary length"}}
}

func reportRate(b *testing.B, events int64) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppend: one appender, one event per transaction.
func BenchmarkAppend(b *testing.B) {
	db := mustOpen(b)
	s := storetest.NewStore(b, db)
	ctx, room := context.Background(), uuid.New()
	b.ReportAllocs()
	cpu := startCPUMeter(b, db)
	for b.Loop() {
		if _, err := s.Append(ctx, domain.Metadata{ActorID: room.String()}, message(room)); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, int64(b.N))
	cpu.report(b, int64(b.N))
}

// BenchmarkAppendParallel64: 64 appenders, each on its own room, gathered
// by group commit into shared transactions.
func BenchmarkAppendParallel64(b *testing.B) {
	db := mustOpen(b)
	s := storetest.NewStore(b, db)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	// RunParallel starts parallelism × GOMAXPROCS goroutines.
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((64 + procs - 1) / procs)
	cpu := startCPUMeter(b, db)
	// Creating and migrating the database is not the work measured; left
	// in, a slow setup makes the first round take the whole benchtime and
	// the result is one append.
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		room := uuid.New()
		for pb.Next() {
			if _, err := s.Append(ctx, domain.Metadata{ActorID: room.String()}, message(room)); err != nil {
				b.Error(err)
				return
			}
			n.Add(1)
		}
	})
	reportRate(b, n.Load())
	cpu.report(b, n.Load())
	var events, txs float64
	err := db.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT transaction_id) FROM events`).Scan(&events, &txs)
	if err != nil {
		b.Fatal(err)
	}
	if txs > 0 {
		b.ReportMetric(events/txs, "events/tx")
	}
}

// BenchmarkReadAll: tailing the log in batches of 256.
func BenchmarkReadAll(b *testing.B) {
	db := mustOpen(b)
	s := storetest.NewStore(b, db)
	ctx := context.Background()
	const size = 20_000
	for i := 0; i < size; i += 100 {
		batch := make([]domain.NewEvent, 100)
		room := uuid.New()
		for j := range batch {
			batch[j] = message(room)
		}
		if _, err := s.Append(ctx, domain.Metadata{}, batch...); err != nil {
			b.Fatal(err)
		}
	}
	var read int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var c domain.Cursor
		for {
			events, err := db.ReadAll(ctx, c, 256)
			if err != nil {
				b.Fatal(err)
			}
			if len(events) == 0 {
				break
			}
			read += int64(len(events))
			c = events[len(events)-1].Cursor()
		}
		if read%size != 0 {
			b.Fatalf("read %d events, want a multiple of %d", read, size)
		}
	}
	reportRate(b, read)
}
