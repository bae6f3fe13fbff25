package main

import (
	"context"
	"time"

	"github.com/chatlog/chat/adapters/eventstore"
)

// runSealer appends a LogSealed every interval while this node leads the
// sealer, so one node seals per deployment. A seal commits to every stream
// head; `chatctl verify` checks the latest one.
func (m *Main) runSealer(interval time.Duration) error {
	m.whileLeading("sealer", func(ctx context.Context) { m.seal(ctx, interval) })
	return nil
}

func (m *Main) seal(ctx context.Context, interval time.Duration) {
	sealer := &eventstore.Sealer{Store: m.platform.Store, Reader: m.platform.DB}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		// The first seal waits an interval too: a node that restarts in a
		// loop must not fill the log with seals.
		select {
		case <-ctx.Done():
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
