package main

import (
	"context"
	"time"
)

// whileLeading runs work while this node holds the lock of a task one
// node per deployment runs (the projections, the sealer), with a context
// that ends when the lock is lost or the node stops; then it waits for the
// lock again. A standby takes over within about a second of the holder's
// death. chat_leader{lock=task} shows who holds it.
func (m *Main) whileLeading(task string, work func(ctx context.Context)) {
	ctx := m.runCtx
	for ctx.Err() == nil {
		lost, release, err := m.platform.DB.AcquireLeadership(ctx, "chat-"+task)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("leadership lock", "task", task, "err", err)
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		m.log.Info("leading", "task", task)
		m.busMetrics.Leading(task, true)
		leading, stop := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
				if leading.Err() == nil { // not our own release
					m.log.Warn("lost the leadership lock; standing by", "task", task)
				}
			case <-leading.Done():
			}
			stop()
		}()
		work(leading)
		stop()
		m.busMetrics.Leading(task, false)
		release()
	}
}

// runProjections feeds the projections from the bus while this node
// leads them; the other nodes with the role stand by. Several nodes
// consuming at once stayed correct (checkpoints decide) but cost more than
// they gave: the consumer group deals batches round-robin, so every node
// saw gaps, healed them from the log and skipped the batches the others
// had applied, all while queueing on the same checkpoint rows. Three nodes
// served a third of one node's messages per second that way.
func (m *Main) runProjections(bp *busParts) {
	m.whileLeading("projections", func(ctx context.Context) {
		bp.bus.RunProjections(ctx, bp.runner, bp.runner.Names(), 5*time.Second)
	})
}
