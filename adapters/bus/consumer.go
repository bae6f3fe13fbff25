package bus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
)

// ProjectionRunner applies batches to projections (projections.Runner).
type ProjectionRunner interface {
	// HandleBatch applies a batch idempotently, healing gaps from the log;
	// an error means the checkpoint did not move and the batch may be
	// delivered again.
	HandleBatch(ctx context.Context, name string, from, to domain.Cursor, events []domain.Event) error
	// CatchUp applies the log between the checkpoint and the head.
	CatchUp(ctx context.Context, name string) error
	// Status refreshes and reports the lag of every projection.
	Status(ctx context.Context) ([]projections.Status, error)
}

// RunProjections consumes chat.events for each named projection, in the
// consumer group "<prefix>proj-<name>" as this node, until ctx ends. Every
// catchUpEvery (and after every re-subscription) it also catches each
// projection up from the log, so a silent or flushed bus never leaves one
// behind, and refreshes the lag metrics.
func (b *Bus) RunProjections(ctx context.Context, r ProjectionRunner, names []string, catchUpEvery time.Duration) {
	if catchUpEvery <= 0 {
		catchUpEvery = 5 * time.Second
	}
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() {
			b.consume(ctx, TopicEvents, b.cfg.Prefix+"proj-"+name,
				func() { b.catchUp(ctx, r, name) },
				func(msg *message.Message) { b.handleBatch(ctx, r, name, msg) })
		})
	}
	wg.Go(func() {
		t := time.NewTicker(catchUpEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, name := range names {
				b.catchUp(ctx, r, name)
			}
			if _, err := r.Status(ctx); err != nil && ctx.Err() == nil {
				b.log.Warn("projection status", "err", err)
			}
		}
	})
	wg.Wait()
}

func (b *Bus) catchUp(ctx context.Context, r ProjectionRunner, name string) {
	if err := r.CatchUp(ctx, name); err != nil && ctx.Err() == nil {
		b.log.Error("projection catch-up", "projection", name, "err", err)
	}
}

// handleBatch applies one events message. A message that cannot be decoded
// is logged and acked (the runner heals the gap from the log with the next
// batch or catch-up); a batch that fails to apply is redelivered after
// RetryDelay.
func (b *Bus) handleBatch(ctx context.Context, r ProjectionRunner, name string, msg *message.Message) {
	from, to, events, err := decodeBatchMessage(msg)
	if err != nil {
		b.cfg.Metrics.badEntry()
		b.log.Error("drop undecodable batch", "projection", name, "message", msg.UUID, "err", err)
		msg.Ack()
		return
	}
	if err := r.HandleBatch(ctx, name, from, to, events); err != nil {
		if ctx.Err() != nil {
			// Shutting down: the batch is redelivered to whoever runs next.
			msg.Nack()
			return
		}
		b.cfg.Metrics.busError("handle_batch")
		b.log.Error("projection batch failed; will retry", "projection", name, "from", from.String(), "to", to.String(), "err", err)
		sleep(ctx, b.cfg.RetryDelay)
		msg.Nack()
		return
	}
	msg.Ack()
}

func decodeBatchMessage(msg *message.Message) (from, to domain.Cursor, events []domain.Event, err error) {
	if bad := msg.Metadata.Get(badEntryKey); bad != "" {
		return from, to, nil, fmt.Errorf("bad stream entry: %s", bad)
	}
	if from, err = domain.ParseCursor(msg.Metadata.Get(MetaFrom)); err != nil {
		return from, to, nil, fmt.Errorf("metadata %s: %w", MetaFrom, err)
	}
	if to, err = domain.ParseCursor(msg.Metadata.Get(MetaTo)); err != nil {
		return from, to, nil, fmt.Errorf("metadata %s: %w", MetaTo, err)
	}
	if events, err = DecodeBatch(msg.Payload); err != nil {
		return from, to, nil, err
	}
	return from, to, events, nil
}
