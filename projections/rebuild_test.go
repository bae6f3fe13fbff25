package projections_test

import (
	"context"
	"slices"
	"testing"

	"github.com/chatlog/chat/projections"
	"github.com/chatlog/chat/projections/projectiontest"
)

func TestRebuildVersion(t *testing.T) {
	for _, c := range []struct{ serving, code, want int }{
		{1, 1, 2}, {1, 2, 2}, {3, 2, 4}, {1, 5, 5},
	} {
		if got := projections.RebuildVersion(c.serving, c.code); got != c.want {
			t.Errorf("RebuildVersion(%d, %d) = %d, want %d", c.serving, c.code, got, c.want)
		}
	}
}

func TestRebuildBuildsAndActivates(t *testing.T) {
	f := newFixture(t)
	f.log.AppendN(100, 7)
	if err := f.runner.CatchUp(context.Background(), "rec"); err != nil {
		t.Fatal(err)
	}
	published := len(f.updates.Seqs())
	var reports []projections.Progress
	if err := f.runner.Rebuild(context.Background(), "rec", func(p projections.Progress) { reports = append(reports, p) }); err != nil {
		t.Fatal(err)
	}
	serving, all, err := f.store.Versions(context.Background(), "rec")
	if err != nil {
		t.Fatal(err)
	}
	if serving != 2 || !slices.Equal(all, []int{2}) {
		t.Fatalf("after rebuild serving v%d of %v, want v2 alone", serving, all)
	}
	if got, want := f.store.Recorded("rec"), f.log.Positions(); !slices.Equal(got, want) {
		t.Fatalf("rebuilt projection holds %v, want %v", got, want)
	}
	if n := len(f.updates.Seqs()); n != published {
		t.Fatalf("rebuild published %d updates", n-published)
	}
	last := reports[len(reports)-1]
	if !last.Activated || last.Applied != 100 || last.Total != 100 || last.Version != 2 {
		t.Fatalf("last progress %+v", last)
	}
	if len(reports) < 100/13 {
		t.Fatalf("only %d progress reports for 100 events in batches of 13", len(reports))
	}
}

func TestRebuildInterruptedResumes(t *testing.T) {
	f := newFixture(t)
	f.log.AppendN(60, 5)
	if err := f.runner.CatchUp(context.Background(), "rec"); err != nil {
		t.Fatal(err)
	}
	f.rec.Fail = projectiontest.FailOnce(40)
	if err := f.runner.Rebuild(context.Background(), "rec", nil); err == nil {
		t.Fatal("rebuild with a failing event succeeded")
	}
	serving, all, _ := f.store.Versions(context.Background(), "rec")
	if serving != 1 || !slices.Equal(all, []int{1, 2}) {
		t.Fatalf("interrupted rebuild: serving v%d of %v, want v1 serving beside v2", serving, all)
	}
	if got := f.store.Recorded("rec"); len(got) != 60 {
		t.Fatalf("serving version changed by the interrupted rebuild: %d events", len(got))
	}
	f.log.AppendN(5, 5) // the log moves on meanwhile
	var applied int64
	if err := f.runner.Rebuild(context.Background(), "rec", func(p projections.Progress) { applied = p.Applied }); err != nil {
		t.Fatal(err)
	}
	// Batches of 13: 1..39 committed before the failure at 40, so the rerun
	// resumes at 40 and applies 40..65.
	if applied != 65-39 {
		t.Fatalf("rerun applied %d events, want %d (resume from the checkpoint)", applied, 65-39)
	}
	if got, want := f.store.Recorded("rec"), f.log.Positions(); !slices.Equal(got, want) {
		t.Fatalf("rebuilt projection holds %v, want %v", got, want)
	}
	if serving, _, _ := f.store.Versions(context.Background(), "rec"); serving != 2 {
		t.Fatalf("serving v%d after the rerun", serving)
	}
}
