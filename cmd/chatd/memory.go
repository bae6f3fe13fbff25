package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The collector runs when the heap has grown GOGC % over what the last
// cycle left live. chatd's live heap is small (a few MB, plus ~2 KB a
// socket) while under load it allocates hundreds of MB a second (pgx
// allocates a fresh write buffer for every batch over 1 KB), so with the
// default GOGC of 100 it collected 35-70 times a second, and the stack
// scans and assists of those cycles took a fifth of its CPU: at 11,000
// msgs/s, ack p99 was 590 ms, and 104 ms with the collector's target kept
// at 64 MiB. keepHeapFloor raises GOGC while the live heap is small, so
// the target is at least floor; once the live heap passes half the floor,
// GOGC is back at its setting, and memory per socket at scale is what it
// was.

const liveHeapMetric = "/gc/heap/live:bytes"

// maxGCPercent bounds GOGC while the live heap is tiny (start-up).
const maxGCPercent = 10_000

// gcPercentFor returns the GOGC that puts the heap target at floor for a
// live heap of live bytes, and never below base (the configured GOGC).
func gcPercentFor(live, floor uint64, base int) int {
	if live == 0 || live >= floor {
		return base
	}
	return min(max(base, int((floor-live)*100/live)), maxGCPercent)
}

// keepHeapFloor adjusts GOGC after every collection (checked every tick)
// until ctx ends, then restores it. It does nothing when the collector is
// off (GOGC=off) or floor is 0.
func keepHeapFloor(ctx context.Context, floor uint64, tick time.Duration) {
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if base < 0 || floor == 0 {
		return
	}
	defer debug.SetGCPercent(base)
	sample := []metrics.Sample{{Name: liveHeapMetric}}
	t := time.NewTicker(tick)
	defer t.Stop()
	current := base
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if want := gcPercentFor(sample[0].Value.Uint64(), floor, base); worthSetting(current, want, base) {
				debug.SetGCPercent(want)
				current = want
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// worthSetting reports whether GOGC should move from current to want:
// back to base always, otherwise by more than a tenth.
func worthSetting(current, want, base int) bool {
	if want == current {
		return false
	}
	if want == base {
		return true
	}
	return max(want-current, current-want)*10 > current
}

// A burst (thousands of sockets connecting, a storm of log-ins, every
// idle socket's reader waking at once) leaves garbage, free heap and
// free goroutine stacks behind, and a quiet process hardly collects, so
// the runtime kept them: after the idle bench's log-ins a node sat at
// 100-170 MB of RSS, most of it argon2's freed buffers, and 17,000 parked
// sockets pinged at once left 71 MB of stacks cached after their readers
// had parked again (only a collection frees cached stacks). Once the
// process is quiet, returnIdleMemory collects and hands the free memory
// back in one go (the same node then sits at ~30 MB).
const (
	idleCheckEvery = 10 * time.Second
	quietAllocs    = 64 << 20 // allocated within idleCheckEvery: quiet (idle sockets' heartbeats stay under)
	idleHeap       = 32 << 20 // garbage, free heap and new stack memory worth returning
)

// heapReading is what returnIdleMemory decides on, in bytes.
type heapReading struct {
	allocated uint64 // allocated since the last check
	free      uint64 // free heap not yet returned to the OS
	objects   uint64 // live and garbage
	live      uint64 // live at the last collection
	newStacks uint64 // growth of stack memory (cached free stacks too) since the last return
}

// The runtime metrics returnIdleMemory reads, by their place in samples.
const (
	sampleAllocs = iota
	sampleFree
	sampleObjects
	sampleLive
	sampleStacks
)

var heapSamples = [...]string{
	sampleAllocs:  "/gc/heap/allocs:bytes",
	sampleFree:    "/memory/classes/heap/free:bytes",
	sampleObjects: "/memory/classes/heap/objects:bytes",
	sampleLive:    liveHeapMetric,
	sampleStacks:  "/memory/classes/heap/stacks:bytes",
}

// returnIdleMemory checks every `every` until ctx ends, and returns free
// memory to the OS when worthReturning says so.
func returnIdleMemory(ctx context.Context, every time.Duration, quiet, idle uint64) {
	samples := make([]metrics.Sample, len(heapSamples))
	for i, name := range heapSamples {
		samples[i].Name = name
	}
	metrics.Read(samples)
	value := func(i int) uint64 { return samples[i].Value.Uint64() }
	lastAllocs, stacksReturned := value(sampleAllocs), value(sampleStacks)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(samples)
		allocs, stacks := value(sampleAllocs), value(sampleStacks)
		r := heapReading{allocated: allocs - lastAllocs, free: value(sampleFree),
			objects: value(sampleObjects), live: value(sampleLive),
			newStacks: stacks - min(stacksReturned, stacks)}
		if worthReturning(r, quiet, idle) {
			debug.FreeOSMemory()
			metrics.Read(samples)
			allocs, stacksReturned = value(sampleAllocs), value(sampleStacks)
		}
		lastAllocs = allocs
	}
}

// worthReturning reports whether a process is quiet (it allocated under
// quiet bytes since the last check) and holds more than idle bytes it
// could return: garbage, free heap and stack memory grown since the last
// return (the stacks of goroutines that exist count too, so a process
// whose goroutines grew collects once, after which that is the baseline).
func worthReturning(r heapReading, quiet, idle uint64) bool {
	garbage := r.objects - min(r.live, r.objects)
	return r.allocated < quiet && r.free+garbage+r.newStacks > idle
}
