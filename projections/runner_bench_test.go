package projections_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/chatlog/chat/projections/projectiontest"
	"github.com/google/uuid"
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

// BenchmarkApplyMessages: the five projections of chatd folding a batch of
// posted messages, the bulk of any log (history encodes each frame; the
// others, being Selective, skip decoding what they do not fold).
func BenchmarkApplyMessages(b *testing.B) {
	const perBatch = 256
	log := projectiontest.NewLog()
	room := uuid.New()
	events := make([]domain.Event, perBatch)
	for i := range events {
		p := &domain.MessagePosted{RoomID: room, MessageID: uuid.New(), ClientID: uuid.New(),
			Author: domain.UserRef{ID: uuid.New(), Username: "ada"}, Body: "hello, this is a chat message of ordinary length"}
		data, err := domain.EncodePayload(p)
		if err != nil {
			b.Fatal(err)
		}
		events[i] = domain.Event{Position: int64(i + 1), TxID: 1, Stream: domain.RoomStream(room), Version: int64(i + 1),
			Type: p.EventType(), Data: data, Metadata: []byte(`{"actor_id":"` + p.Author.ID.String() + `","actor_name":"ada"}`),
			RecordedAt: time.Now().UTC()}
	}
	all := []projections.Projection{projections.Approval{}, projections.Rooms{}, projections.History{},
		projections.Presence{}, projections.ReadMarkers{}}
	to := events[len(events)-1].Cursor()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		store := projectiontest.NewStore()
		r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Log: log, Projections: all,
			Updates: &projectiontest.Updates{}})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range all {
			if err := store.Prepare(context.Background(), p.Name(), 1); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		for _, p := range all {
			if err := r.HandleBatch(context.Background(), p.Name(), domain.Cursor{}, to, events); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "events/s")
}
