package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistIndexIsMonotonicAndCoversItsUpperEdge(t *testing.T) {
	prev := -1
	for _, us := range []uint64{0, 1, 31, 32, 33, 63, 64, 65, 100, 1000, 12345, 1 << 20, 1<<40 + 7} {
		i := histIndex(us)
		if i < prev {
			t.Fatalf("index of %d is %d, below the previous %d", us, i, prev)
		}
		prev = i
		if up := histUpper(i); up < us || histIndex(up) != i {
			t.Fatalf("bucket %d of %d has upper edge %d (index %d)", i, us, up, histIndex(up))
		}
		if i+1 < histBuckets && histIndex(histUpper(i)+1) != i+1 {
			t.Fatalf("value after bucket %d's edge lands in %d", i, histIndex(histUpper(i)+1))
		}
	}
}

func TestHistQuantilesMatchExactPercentiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h hist
	var vals []time.Duration
	for range 100_000 {
		// Log-normal-ish latencies from 50 µs to seconds, as a real run has.
		d := time.Duration(50e3 * (1 + rng.ExpFloat64()*rng.ExpFloat64()*40))
		vals = append(vals, d)
		h.Record(d)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		// The bucket's upper edge is never below the value and at most 1/32 above (plus 1 µs of truncation).
		if got < exact-time.Microsecond || float64(got) > float64(exact)*(1+1.0/histSub)+1e3 {
			t.Errorf("q%.3f: got %v, exact %v", q, got, exact)
		}
	}
	if h.Max() != vals[len(vals)-1] {
		t.Errorf("max %v, want %v", h.Max(), vals[len(vals)-1])
	}
	if h.Count() != uint64(len(vals)) {
		t.Errorf("count %d, want %d", h.Count(), len(vals))
	}
}

func TestHistEmptyAndTiny(t *testing.T) {
	var h hist
	if h.Quantile(0.99) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram should report zeros")
	}
	h.Record(-time.Second) // a clock step must not panic or wrap
	h.Record(3 * time.Microsecond)
	if got := h.Quantile(1); got != 3*time.Microsecond {
		t.Fatalf("p100 = %v, want 3µs", got)
	}
	if got := h.Quantile(0.5); got != 0 {
		t.Fatalf("p50 = %v, want 0", got)
	}
}

func TestTrackerCountsDuplicatesAndLoss(t *testing.T) {
	tests := []struct {
		name                            string
		head                            int64
		arrivals                        []int64
		acked                           []int64
		dups, gaps                      int64
		lost, undelivered, expected, hi int
	}{
		{name: "in order", head: 2, arrivals: []int64{3, 4, 5}, acked: []int64{3, 4, 5}, expected: 3, hi: 5},
		{name: "repeat of the last", head: 2, arrivals: []int64{3, 4, 4, 5}, acked: []int64{3, 4, 5}, dups: 1, expected: 3, hi: 5},
		{name: "seq from before the subscription", head: 10, arrivals: []int64{9, 11}, acked: []int64{11}, dups: 1, expected: 1, hi: 11},
		{name: "one lost in the middle", head: 0, arrivals: []int64{1, 3}, acked: []int64{1, 2, 3}, gaps: 1, lost: 1, expected: 3, hi: 1},
		{name: "out of order heals", head: 0, arrivals: []int64{2, 1, 3}, acked: []int64{1, 2, 3}, gaps: 1, expected: 3, hi: 3},
		{name: "repeat of an out-of-order seq", head: 0, arrivals: []int64{2, 2}, acked: []int64{1, 2}, gaps: 1, dups: 1, lost: 1, expected: 2, hi: 0},
		{name: "tail not arrived (yet)", head: 5, arrivals: []int64{6}, acked: []int64{6, 7, 8}, undelivered: 2, expected: 3, hi: 6},
		{name: "lost below an arrival, tail not arrived", head: 0, arrivals: []int64{1, 3}, acked: []int64{1, 2, 3, 4, 5},
			gaps: 1, lost: 1, undelivered: 2, expected: 5, hi: 1},
		{name: "acked before the subscription is not expected", head: 5, arrivals: []int64{6}, acked: []int64{4, 5, 6}, expected: 1, hi: 6},
		{name: "non-message events fill the gaps", head: 2, arrivals: []int64{3, 4, 5, 6}, acked: []int64{4, 6}, expected: 2, hi: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr seqTracker
			tr.start(tt.head)
			for _, s := range tt.arrivals {
				tr.observe(s)
			}
			lost, undelivered, expected := tr.missing(tt.acked)
			if tr.dups != tt.dups || tr.gaps != tt.gaps || lost != tt.lost || undelivered != tt.undelivered ||
				expected != tt.expected || tr.hi.Load() != int64(tt.hi) {
				t.Fatalf("dups %d gaps %d lost %d undelivered %d expected %d hi %d; want %d %d %d %d %d %d",
					tr.dups, tr.gaps, lost, undelivered, expected, tr.hi.Load(),
					tt.dups, tt.gaps, tt.lost, tt.undelivered, tt.expected, tt.hi)
			}
		})
	}
}

func TestTrackerUnionAcrossReconnect(t *testing.T) {
	var tr seqTracker
	tr.start(2)
	for _, s := range []int64{3, 4, 5} {
		tr.observe(s)
	}
	// The reconnect's subscribed carries a later head; what was seen stays.
	tr.start(9)
	if got := tr.resumeAfter(); got != 5 {
		t.Fatalf("resume after %d, want 5", got)
	}
	for _, s := range []int64{6, 7, 8, 9, 10} {
		if tr.observe(s) {
			t.Fatalf("seq %d counted as duplicate", s)
		}
	}
	lost, undelivered, expected := tr.missing([]int64{3, 5, 7, 9, 10})
	if lost != 0 || undelivered != 0 || expected != 5 || tr.dups != 0 {
		t.Fatalf("lost %d expected %d dups %d", lost, expected, tr.dups)
	}
	if !tr.caughtUp(10) || tr.caughtUp(11) {
		t.Fatal("caughtUp disagrees with hi")
	}
}

func TestTrackerNeverSubscribedLosesEverything(t *testing.T) {
	var tr seqTracker
	lost, _, expected := tr.missing([]int64{1, 2, 3})
	if lost != 3 || expected != 3 {
		t.Fatalf("lost %d expected %d, want 3 3", lost, expected)
	}
}
