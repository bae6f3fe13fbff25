package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// runStorm is fanout with a reconnect storm in the middle: at cfg.stormAt
// every client's connection closes at once and every client reconnects with
// subscribe after=<its last contiguous seq>. It reports how long until all
// had resumed and whether anything was lost or repeated across the storm.
func runStorm(ctx context.Context, cfg *config, fx *fixture, a *api) (*report, error) {
	f := newFleet(cfg, fx, a, 4096)
	rep := newReport("storm")
	stopHB := f.keepAlive(ctx)
	defer stopHB()
	failed, firstErr := f.connectAll(ctx, f.clients, cfg.dialConcurrency, false)
	defer f.closeAll()
	if failed > 0 {
		return nil, fmt.Errorf("%d of %d clients failed to connect, first: %w", failed, cfg.clients, firstErr)
	}

	sendCtx, stopSend := context.WithTimeout(ctx, cfg.duration)
	defer stopSend()
	sendStart := time.Now()
	var wg sync.WaitGroup
	if len(f.senders) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.send(sendCtx)
		}()
	}
	sleep(sendCtx, cfg.stormAt)

	slog.Info("storm: closing every connection", "clients", cfg.clients)
	t0 := time.Now()
	f.closeAll()
	closed := time.Since(t0)
	// Everyone at once: the storm is the point, not a polite ramp.
	refailed, reErr := f.connectAll(ctx, f.clients, len(f.clients), true)
	all := time.Since(t0)
	var resume hist
	for _, c := range f.clients {
		if c.connected() {
			resume.Record(time.Duration(c.subAt.Load()) - t0.Sub(epoch))
		}
	}
	slog.Info("storm: resumed", "clients", int(resume.Count()), "failed", refailed, "took", all.Round(time.Millisecond))

	wg.Wait()
	window := time.Since(sendStart)
	drained := f.drain(ctx, cfg.drain)
	f.closeAll()
	acc := f.account()

	rep.add("nodes", len(cfg.nodes))
	rep.add("clients", cfg.clients)
	rep.add("rooms", cfg.rooms)
	rep.add("resumed", resume.Count())
	rep.add("reconnect_failed", refailed)
	if reErr != nil {
		rep.add("first_error", reErr.Error())
	}
	rep.add("close_all_s", closed.Seconds())
	rep.add("resume_all_s", all.Seconds())
	rep.add("resume_latency", resume.Summary())
	rep.add("truncated_resumes", f.m.truncated.Load())
	rep.add("history_filled", f.m.filled.Load())
	f.addTraffic(rep, window, drained, acc)
	if ctx.Err() != nil {
		return rep, fmt.Errorf("storm run cut short: %w", ctx.Err())
	}
	return rep, nil
}
