package projections_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/chatlog/chat/projections/projectiontest"
)

type batch struct {
	from, to domain.Cursor
	events   []domain.Event
}

type fixture struct {
	store   *projectiontest.Store
	log     *projectiontest.Log
	rec     *projectiontest.Recorder
	updates *projectiontest.Updates
	runner  *projections.Runner
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		store: projectiontest.NewStore(), log: projectiontest.NewLog(),
		rec: &projectiontest.Recorder{ProjName: "rec", V: 1}, updates: &projectiontest.Updates{},
	}
	r, err := projections.NewRunner(projections.RunnerConfig{
		Store: f.store, Log: f.log, Head: f.log, Projections: []projections.Projection{f.rec},
		Updates: f.updates, ReadBatch: 7, RebuildBatch: 13,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.runner = r
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

// batches cuts the whole log into batches of size n, as the relay would.
func (f *fixture) batches(t *testing.T, n int) []batch {
	t.Helper()
	var out []batch
	var at domain.Cursor
	for {
		events, err := f.log.ReadAll(context.Background(), at, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 0 {
			return out
		}
		to := events[len(events)-1].Cursor()
		out = append(out, batch{from: at, to: to, events: events})
		at = to
	}
}

func (f *fixture) handle(t *testing.T, b batch) error {
	t.Helper()
	return f.runner.HandleBatch(context.Background(), "rec", b.from, b.to, b.events)
}

// exactlyTheLog fails unless the projection and the published updates hold
// every log event once, in order.
func (f *fixture) exactlyTheLog(t *testing.T) {
	t.Helper()
	want := f.log.Positions()
	if got := f.store.Recorded("rec"); !slices.Equal(got, want) {
		t.Fatalf("projection holds %v, log has %v", got, want)
	}
	if got := f.updates.Seqs(); !slices.Equal(got, want) {
		t.Fatalf("published %v, log has %v", got, want)
	}
	head, _ := f.log.LogHead(context.Background())
	if cp := f.store.Checkpoint("rec"); cp != head {
		t.Fatalf("checkpoint %s, head %s", cp, head)
	}
}

func TestHandleBatchAppliesInOrder(t *testing.T) {
	f := newFixture(t)
	f.log.AppendN(25, 3)
	for _, b := range f.batches(t, 5) {
		if err := f.handle(t, b); err != nil {
			t.Fatal(err)
		}
	}
	f.exactlyTheLog(t)
}

func TestHandleBatchSkipsDuplicates(t *testing.T) {
	f := newFixture(t)
	f.log.AppendN(10, 2)
	bs := f.batches(t, 4)
	for _, b := range append(append([]batch{}, bs...), bs...) {
		if err := f.handle(t, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.handle(t, bs[0]); err != nil {
		t.Fatal(err)
	}
	f.exactlyTheLog(t)
}

func TestHandleBatchHealsGapFromLog(t *testing.T) {
	f := newFixture(t)
	f.log.AppendN(30, 4)
	bs := f.batches(t, 5)
	// The bus lost batches 1 and 2; batch 3 arrives ahead of the checkpoint.
	for _, b := range []batch{bs[0], bs[3]} {
		if err := f.handle(t, b); err != nil {
			t.Fatal(err)
		}
	}
	want := f.log.Positions()[:20]
	if got := f.store.Recorded("rec"); !slices.Equal(got, want) {
		t.Fatalf("after heal projection holds %v, want %v", got, want)
	}
	for _, b := range bs {
		if err := f.handle(t, b); err != nil {
			t.Fatal(err)
		}
	}
	f.exactlyTheLog(t)
}

func TestHandleBatchPartialOverlap(t *testing.T) {
	f := newFixture(t)
	f.log.AppendN(12, 1)
	small, big := f.batches(t, 5), f.batches(t, 8)
	if err := f.handle(t, small[0]); err != nil {
		t.Fatal(err)
	}
	// big[0] covers 1..8 but the projection holds 1..5: only 6..8 apply.
	for _, b := range big {
		if err := f.handle(t, b); err != nil {
			t.Fatal(err)
		}
	}
	f.exactlyTheLog(t)
}

func TestHandleBatchFailureLeavesCheckpointAndRetryAppliesOnce(t *testing.T) {
	f := newFixture(t)
	f.log.AppendN(10, 2)
	f.rec.Fail = projectiontest.FailOnce(7)
	bs := f.batches(t, 5)
	if err := f.handle(t, bs[0]); err != nil {
		t.Fatal(err)
	}
	err := f.handle(t, bs[1])
	if err == nil || !strings.Contains(err.Error(), "position 7") {
		t.Fatalf("want an error naming position 7, got %v", err)
	}
	if cp := f.store.Checkpoint("rec"); cp != bs[0].to {
		t.Fatalf("failed batch moved the checkpoint to %s", cp)
	}
	if got := f.store.Recorded("rec"); len(got) != 5 {
		t.Fatalf("failed batch left %v in the projection", got)
	}
	if err := f.handle(t, bs[1]); err != nil {
		t.Fatal(err)
	}
	f.exactlyTheLog(t)
}

func TestHandleBatchCommitFailureRetries(t *testing.T) {
	f := newFixture(t)
	f.log.AppendN(6, 3)
	injected := errors.New("disk full")
	fail := true
	f.store.FailCommit = func(string, int) error {
		if fail {
			fail = false
			return injected
		}
		return nil
	}
	bs := f.batches(t, 6)
	if err := f.handle(t, bs[0]); !errors.Is(err, injected) {
		t.Fatalf("want the commit error, got %v", err)
	}
	if err := f.handle(t, bs[0]); err != nil {
		t.Fatal(err)
	}
	f.exactlyTheLog(t)
}

func TestHandleBatchDecodeErrorNamesPosition(t *testing.T) {
	f := newFixture(t)
	f.log.AppendN(2, 1)
	bad := f.log.AppendRaw("NoSuchEvent", []byte(`{}`))
	bs := f.batches(t, 10)
	err := f.handle(t, bs[0])
	if err == nil || !strings.Contains(err.Error(), "position 3") || !strings.Contains(err.Error(), "NoSuchEvent") {
		t.Fatalf("want an error naming position %d and the type, got %v", bad.Position, err)
	}
	if got := f.store.Recorded("rec"); len(got) != 0 {
		t.Fatalf("a failed batch applied %v", got)
	}
}

func TestCatchUpReadsTheLog(t *testing.T) {
	f := newFixture(t)
	f.log.AppendN(50, 6)
	if err := f.runner.CatchUp(context.Background(), "rec"); err != nil {
		t.Fatal(err)
	}
	f.exactlyTheLog(t)
	// Batches arriving later are duplicates.
	for _, b := range f.batches(t, 9) {
		if err := f.handle(t, b); err != nil {
			t.Fatal(err)
		}
	}
	f.exactlyTheLog(t)
}

func TestStatusReportsLag(t *testing.T) {
	f := newFixture(t)
	f.log.AppendN(10, 10)
	st, err := f.runner.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].LagEvents != 10 {
		t.Fatalf("status %+v, want 10 events behind", st)
	}
	if err := f.runner.CatchUp(context.Background(), "rec"); err != nil {
		t.Fatal(err)
	}
	st, err = f.runner.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st[0].LagEvents != 0 || st[0].LagSeconds != 0 {
		t.Fatalf("status %+v after catch-up, want no lag", st[0])
	}
}

func TestUnknownProjection(t *testing.T) {
	f := newFixture(t)
	err := f.runner.HandleBatch(context.Background(), "nope", domain.Cursor{}, domain.Cursor{TxID: 1}, nil)
	if !errors.Is(err, projections.ErrNoProjection) {
		t.Fatalf("want ErrNoProjection, got %v", err)
	}
}
