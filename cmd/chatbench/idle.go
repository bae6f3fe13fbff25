package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// runIdle opens cfg.clients connections, each subscribed to one room, holds
// them for cfg.duration and reports what each cost the servers in memory.
func runIdle(ctx context.Context, cfg *config, fx *fixture, a *api) (*report, error) {
	f := newFleet(cfg, fx, a, 512) // idle sockets get small read buffers: the bench shares the machine
	rep := newReport("idle")
	// Both readings are taken at rest: right after the set-up's log-ins
	// (argon2, 19 MiB each) the servers' memory is in flux, and the
	// difference said as much about when their collectors last ran as
	// about the sockets.
	sleep(ctx, cfg.settle)
	rssBefore, heapBefore, err := scrapeMemory(ctx, cfg.nodes)
	if err != nil {
		return nil, fmt.Errorf("memory before: %w", err)
	}
	stopHB := f.keepAlive(ctx)
	defer stopHB()
	start := time.Now()
	failed, firstErr := f.connectAll(ctx, f.clients, cfg.dialConcurrency, false)
	connectTook := time.Since(start)
	connected := cfg.clients - failed
	slog.Info("connected", "clients", connected, "failed", failed, "took", connectTook.Round(time.Millisecond))
	defer f.closeAll()

	sleep(ctx, cfg.settle)
	rssAfter, heapAfter, err := scrapeMemory(ctx, cfg.nodes)
	if err != nil {
		return nil, fmt.Errorf("memory after: %w", err)
	}
	sleep(ctx, cfg.duration-cfg.settle)
	held := 0
	for _, c := range f.clients {
		if c.connected() {
			held++
		}
	}

	rep.add("nodes", len(cfg.nodes))
	rep.add("clients", cfg.clients)
	rep.add("connected", connected)
	rep.add("failed", failed)
	if firstErr != nil {
		rep.add("first_error", firstErr.Error())
	}
	rep.add("held", held)
	rep.add("drops", f.m.drops.Load())
	rep.add("connect_s", connectTook.Seconds())
	rep.add("connects_per_s", float64(connected)/connectTook.Seconds())
	if connected > 0 {
		rep.add("rss_bytes_per_conn", (rssAfter-rssBefore)/float64(connected))
		rep.add("heap_inuse_bytes_per_conn", (heapAfter-heapBefore)/float64(connected))
	}
	rep.add("rss_before_mib", rssBefore/(1<<20))
	rep.add("rss_after_mib", rssAfter/(1<<20))
	rep.add("heap_inuse_before_mib", heapBefore/(1<<20))
	rep.add("heap_inuse_after_mib", heapAfter/(1<<20))
	if ctx.Err() != nil {
		return rep, fmt.Errorf("idle run cut short: %w", ctx.Err())
	}
	return rep, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
