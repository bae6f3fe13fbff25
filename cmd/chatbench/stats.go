package main

import (
	"math"
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// histSubBits sets the precision of histogram buckets: 2^5 sub-buckets per
// power of two keep every reported percentile within about 3% of the truth,
// which is finer than run-to-run noise.
const (
	histSubBits  = 5
	histSub      = 1 << histSubBits
	histBuckets  = (64 - histSubBits) * histSub
	histUnitNano = int64(time.Microsecond)
)

// hist is a log-linear latency histogram in microseconds. Record is safe for
// concurrent use and never allocates, so every receiving goroutine can share
// one instance on the per-message path.
type hist struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Int64
}

func histIndex(us uint64) int {
	if us < histSub {
		return int(us)
	}
	e := bits.Len64(us) - histSubBits - 1
	return (e+1)*histSub + int(us>>uint(e)) - histSub
}

// histUpper is the largest value that lands in bucket i.
func histUpper(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return (m+1)<<uint(e) - 1
}

// Record adds one latency; negative values (clock steps) count as zero.
func (h *hist) Record(d time.Duration) {
	ns := int64(d)
	if ns < 0 {
		ns = 0
	}
	us := uint64(ns / histUnitNano)
	h.counts[histIndex(us)].Add(1)
	h.n.Add(1)
	h.sum.Add(us)
	for {
		cur := h.max.Load()
		if ns <= cur || h.max.CompareAndSwap(cur, ns) {
			return
		}
	}
}

// Count is the number of recorded values.
func (h *hist) Count() uint64 { return h.n.Load() }

// Quantile returns the value below which a fraction q of the records fall,
// as the upper edge of its bucket (never below the true value), capped at the
// exact maximum.
func (h *hist) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			v := time.Duration(histUpper(i)) * time.Microsecond
			if m := h.Max(); v > m {
				v = m
			}
			return v
		}
	}
	return h.Max()
}

// Max is the largest recorded value, exact.
func (h *hist) Max() time.Duration { return time.Duration(h.max.Load()) }

// Mean is the average recorded value.
func (h *hist) Mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load()/n) * time.Microsecond
}

// latencySummary is the JSON shape of one histogram, in milliseconds.
type latencySummary struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func (h *hist) Summary() latencySummary {
	return latencySummary{
		Count: h.Count(),
		Mean:  ms(h.Mean()),
		P50:   ms(h.Quantile(0.50)),
		P90:   ms(h.Quantile(0.90)),
		P99:   ms(h.Quantile(0.99)),
		Max:   ms(h.Max()),
	}
}

// seqTracker is one client's view of one room: which seqs arrived, how often.
// Only the client's reader goroutine calls observe; hi is atomic so the drain
// loop may watch progress, and the rest is read after the reader has stopped.
//
// In the normal case events arrive in order and the tracker holds no memory
// beyond hi; only out-of-order arrivals (a server bug) land in ahead.
type seqTracker struct {
	base    int64        // head when the client first subscribed; seqs ≤ base predate it
	hi      atomic.Int64 // every seq in (base, hi] has been seen
	ahead   map[int64]struct{}
	dups    int64
	gaps    int64 // arrivals past a hole (hi+1 missing): reordering or loss
	started bool

	// filled holds seqs fetched over HTTP after a truncated resume; they
	// count as received but never as socket duplicates.
	fillMu sync.Mutex
	filled map[int64]struct{}
}

// fill records a seq the client paged from history instead of receiving it.
func (t *seqTracker) fill(seq int64) {
	t.fillMu.Lock()
	defer t.fillMu.Unlock()
	if t.filled == nil {
		t.filled = make(map[int64]struct{})
	}
	t.filled[seq] = struct{}{}
}

// start sets the base at the first subscription; later (resuming)
// subscriptions keep what was seen, so the union across reconnects counts.
func (t *seqTracker) start(head int64) {
	if t.started {
		return
	}
	t.started = true
	t.base = head
	t.hi.Store(head)
}

// resumeAfter is the seq to pass as subscribe's after on reconnect.
func (t *seqTracker) resumeAfter() int64 { return t.hi.Load() }

// observe records one arrival and reports whether it was a duplicate.
func (t *seqTracker) observe(seq int64) bool {
	hi := t.hi.Load()
	switch {
	case seq <= hi:
		t.dups++
		return true
	case seq == hi+1:
		hi++
		for len(t.ahead) > 0 {
			if _, ok := t.ahead[hi+1]; !ok {
				break
			}
			delete(t.ahead, hi+1)
			hi++
		}
		t.hi.Store(hi)
		return false
	}
	if _, ok := t.ahead[seq]; ok {
		t.dups++
		return true
	}
	if t.ahead == nil {
		t.ahead = make(map[int64]struct{})
	}
	t.ahead[seq] = struct{}{}
	t.gaps++
	return false
}

// missing counts the acked seqs (sorted ascending) the client should have
// received but did not, and how many it should have received in all. A
// room's events arrive in seq order, so a missing seq below one that did
// arrive is lost; one above every arrival may still have been on its way
// when the run stopped waiting (undelivered).
func (t *seqTracker) missing(acked []int64) (lost, undelivered, expected int) {
	i := sort.Search(len(acked), func(i int) bool { return acked[i] > t.base })
	expected = len(acked) - i
	if !t.started {
		return expected, 0, expected
	}
	hi := t.hi.Load()
	top := hi
	for s := range t.ahead {
		top = max(top, s)
	}
	j := sort.Search(len(acked), func(i int) bool { return acked[i] > hi })
	if j < i {
		j = i
	}
	t.fillMu.Lock()
	defer t.fillMu.Unlock()
	for _, s := range acked[j:] {
		_, seen := t.ahead[s]
		_, filled := t.filled[s]
		switch {
		case seen || filled:
		case s < top:
			lost++
		default:
			undelivered++
		}
	}
	return lost, undelivered, expected
}

// caughtUp reports whether the client has seen everything up to maxSeq,
// which lets the drain phase end early.
func (t *seqTracker) caughtUp(maxSeq int64) bool {
	return t.hi.Load() >= maxSeq
}
