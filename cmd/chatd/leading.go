package main

import (
	"context"
	"time"
)

// projectionsLock is the lock whose holder feeds the projections.
const projectionsLock = "chat-projections"

// runProjectionsWhileLeading feeds the projections from the bus while this
// node holds the projections lock; the other nodes with the role stand by
// and one takes over within about a second when the holder dies. Several
// nodes consuming at once stayed correct (checkpoints decide) but cost
// more than they gave: the consumer group deals batches round-robin, so
// every node saw gaps, healed them from the log and skipped the batches
// the others had applied, all while queueing on the same checkpoint rows.
// Three nodes served a third of one node's messages per second that way.
func (m *Main) runProjectionsWhileLeading(bp *busParts) {
	ctx := m.runCtx
	for ctx.Err() == nil {
		lost, release, err := m.platform.DB.AcquireLeadership(ctx, projectionsLock)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("projections lock", "err", err)
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		m.log.Info("feeding the projections")
		m.busMetrics.Leading("projections", true)
		leading, stop := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
				if leading.Err() == nil { // not our own release
					m.log.Warn("lost the projections lock; standing by")
				}
			case <-leading.Done():
			}
			stop()
		}()
		bp.bus.RunProjections(leading, bp.runner, bp.runner.Names(), 5*time.Second)
		stop()
		m.busMetrics.Leading("projections", false)
		release()
	}
}
