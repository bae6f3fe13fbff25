package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// runFanout connects rooms × members clients, lets the senders offer the
// target rate for cfg.duration, waits for the last deliveries and reports
// throughput, latency, loss and duplicates.
func runFanout(ctx context.Context, cfg *config, fx *fixture, a *api) (*report, error) {
	f := newFleet(cfg, fx, a, 4096)
	rep := newReport("fanout")
	stopHB := f.keepAlive(ctx)
	defer stopHB()
	start := time.Now()
	failed, firstErr := f.connectAll(ctx, f.clients, cfg.dialConcurrency, false)
	slog.Info("connected", "clients", cfg.clients-failed, "failed", failed, "took", time.Since(start).Round(time.Millisecond))
	defer f.closeAll()
	if failed > 0 {
		// Loss would be meaningless with clients missing from the start.
		return nil, fmt.Errorf("%d of %d clients failed to connect, first: %w", failed, cfg.clients, firstErr)
	}

	sendCtx, stopSend := context.WithTimeout(ctx, cfg.duration)
	sendStart := time.Now()
	f.send(sendCtx)
	stopSend()
	window := time.Since(sendStart)
	drained := f.drain(ctx, cfg.drain)
	f.closeAll()
	acc := f.account()

	rep.add("nodes", len(cfg.nodes))
	rep.add("clients", cfg.clients)
	rep.add("rooms", cfg.rooms)
	rep.add("members", cfg.clients/cfg.rooms)
	f.addTraffic(rep, window, drained, acc)
	if ctx.Err() != nil {
		return rep, fmt.Errorf("fanout run cut short: %w", ctx.Err())
	}
	return rep, nil
}
