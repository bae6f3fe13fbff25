package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, floor uint64
		base, want  int
	}{
		{8 * mib, 64 * mib, 100, 700}, // 8 + 8×7 = 64
		{16 * mib, 64 * mib, 100, 300},
		{32 * mib, 64 * mib, 100, 100}, // half the floor: the setting's target is the floor
		{48 * mib, 64 * mib, 100, 100}, // never below the setting
		{100 * mib, 64 * mib, 100, 100},
		{8 * mib, 64 * mib, 1000, 1000},
		{1, 64 * mib, 100, maxGCPercent},
		{0, 64 * mib, 100, 100}, // before the first collection
	} {
		if got := gcPercentFor(c.live, c.floor, c.base); got != c.want {
			t.Errorf("gcPercentFor(%d MiB live, %d MiB floor, %d) = %d, want %d", c.live/mib, c.floor/mib, c.base, got, c.want)
		}
	}
}

func TestWorthSetting(t *testing.T) {
	for _, c := range []struct {
		current, want, base int
		ok                  bool
	}{
		{700, 700, 100, false},
		{700, 750, 100, false}, // within a tenth
		{700, 800, 100, true},
		{700, 600, 100, true},
		{105, 100, 100, true}, // back to the setting, however close
	} {
		if got := worthSetting(c.current, c.want, c.base); got != c.ok {
			t.Errorf("worthSetting(%d, %d, %d) = %v", c.current, c.want, c.base, got)
		}
	}
}

// TestKeepHeapFloor: a test binary's live heap is far below 1 GiB, so GOGC
// goes up while the floor is kept, and back when it stops.
func TestKeepHeapFloor(t *testing.T) {
	base := debug.SetGCPercent(100)
	defer debug.SetGCPercent(base)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { keepHeapFloor(ctx, 1<<30, time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	raised := false
	for !raised && time.Now().Before(deadline) {
		// SetGCPercent returns the previous value; setting it back
		// straight away makes it a read.
		v := debug.SetGCPercent(100)
		debug.SetGCPercent(v)
		raised = v > 100
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if !raised {
		t.Fatal("GOGC was not raised for a live heap far below the floor")
	}
	if v := debug.SetGCPercent(base); v != 100 {
		t.Errorf("GOGC after the floor stopped = %d, want the setting back (100)", v)
	}
}

func TestHeapFloorConfig(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "CHAT_HEAP_FLOOR_MIB" {
				return v
			}
			return ""
		}
	}
	if c, err := ParseConfig(nil, env("")); err != nil || c.HeapFloor != 64<<20 {
		t.Errorf("default heap floor = %d, %v; want 64 MiB", c.HeapFloor, err)
	}
	if c, err := ParseConfig([]string{"-heap-floor-mib", "0"}, env("128")); err != nil || c.HeapFloor != 0 {
		t.Errorf("-heap-floor-mib 0 over CHAT_HEAP_FLOOR_MIB=128 gives %d, %v", c.HeapFloor, err)
	}
	for _, bad := range []string{"-1", "lots", "1.5"} {
		if _, err := ParseConfig(nil, env(bad)); err == nil {
			t.Errorf("CHAT_HEAP_FLOOR_MIB=%s accepted", bad)
		}
	}
}

func TestWorthReturning(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		r    heapReading
		want bool
	}{
		{heapReading{allocated: 1 * mib, free: 40 * mib, objects: 10 * mib, live: 10 * mib}, true},  // quiet, free heap
		{heapReading{allocated: 1 * mib, objects: 60 * mib, live: 20 * mib}, true},                  // quiet, garbage
		{heapReading{allocated: 1 * mib, free: 10 * mib, objects: 30 * mib, live: 20 * mib}, false}, // quiet, little to return
		{heapReading{allocated: 100 * mib, free: 40 * mib, objects: 60 * mib, live: 20 * mib}, false},
		{heapReading{allocated: 1 * mib, free: 40 * mib, objects: 10 * mib, live: 20 * mib}, true},                     // objects under live: no garbage, free still counts
		{heapReading{allocated: 1 * mib, free: 5 * mib, objects: 10 * mib, live: 10 * mib, newStacks: 70 * mib}, true}, // cached stacks of a burst
		{heapReading{allocated: 100 * mib, newStacks: 70 * mib}, false},
	} {
		if got := worthReturning(c.r, 64*mib, 32*mib); got != c.want {
			t.Errorf("worthReturning(%+v) = %v", c.r, got)
		}
	}
}

// TestReturnIdleMemory: once the process is quiet and holds heap worth
// returning (here: any, worthReturning's thresholds are tested above), the
// loop collects and returns it. It watches the forced collection, not the
// free heap, which the runtime's own scavenger and the package's other
// tests move too.
func TestReturnIdleMemory(t *testing.T) {
	forced := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(forced)
	before := forced[0].Value.Uint64()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go returnIdleMemory(ctx, 20*time.Millisecond, 1<<40, 0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		metrics.Read(forced)
		if forced[0].Value.Uint64() > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a quiet process's heap was not returned within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
