package main

import (
	"context"
	"time"

	"github.com/chatlog/chat/adapters/eventstore"
)

// runSealer appends a LogSealed every interval while this node holds the
// sealer lock, so one node seals per deployment and a standby takes over
// when it dies. A seal commits to every stream head; `chatctl verify`
// checks the latest one.
func (m *Main) runSealer(interval time.Duration) error {
	ctx := m.runCtx
	for ctx.Err() == nil {
		lost, release, err := m.platform.DB.AcquireLeadership(ctx, "chat-sealer")
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			m.log.Warn("sealer lock", "err", err)
			sleepCtx(ctx, interval)
			continue
		}
		m.busMetrics.Leading("sealer", true)
		m.sealWhileLeading(ctx, lost, interval)
		m.busMetrics.Leading("sealer", false)
		release()
	}
	return nil
}

func (m *Main) sealWhileLeading(ctx context.Context, lost <-chan struct{}, interval time.Duration) {
	sealer := &eventstore.Sealer{Store: m.platform.Store, Reader: m.platform.DB}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		// The first seal waits an interval too: a node that restarts in a
		// loop must not fill the log with seals.
		select {
		case <-ctx.Done():
			return
		case <-lost:
			return
		case <-tick.C:
		}
		seal, err := sealer.Seal(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			m.log.Error("seal the log", "err", err)
		case seal != nil:
			m.log.Debug("log sealed", "streams", seal.Streams, "tree", seal.TreeHash, "up_to", seal.UpTo.String())
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
