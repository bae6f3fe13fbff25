package main

import (
	"context"
	"runtime"
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

// TestReturnIdleMemory: heap left free by a burst goes back to the OS
// once the process is quiet.
func TestReturnIdleMemory(t *testing.T) {
	burst := make([][]byte, 64)
	for i := range burst {
		burst[i] = make([]byte, 1<<20)
		burst[i][0] = 1
	}
	burst = nil
	runtime.GC() // the burst is free now, but still held from the OS
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go returnIdleMemory(ctx, 20*time.Millisecond, 1<<30, 1<<20)
	free := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	deadline := time.Now().Add(5 * time.Second)
	for {
		metrics.Read(free)
		if free[0].Value.Uint64() < 1<<20 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes of free heap still held after 5 s of quiet", free[0].Value.Uint64())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
