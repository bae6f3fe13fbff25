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
	// Folds reports whether events change projection name beyond its
	// checkpoint.
	Folds(name string, events []domain.Event) bool
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
		wg.Go(func() { b.runProjection(ctx, r, name) })
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

// Bounds of the batches waiting for one projection on this node.
const (
	queuedBatches = 64   // decoded messages taken from the stream ahead of the runner
	mergedEvents  = 1024 // most events handed to the runner at once
)

// pendingBatch is a decoded chat.events message waiting for the runner.
type pendingBatch struct {
	from, to domain.Cursor
	events   []domain.Event
}

// runProjection feeds one projection. The stream is read ahead into a
// small queue and each message is acked once queued: Watermill hands out
// one message at a time and the next only after the ack, so acking after
// applying would cost the runner one transaction per relay batch, and
// under load (a few events per batch) the projection, and every socket
// waiting on it, falls further behind. The queued batches that follow one
// another are applied as one. Acking early loses nothing: the log is the
// truth, and a batch acked but never applied (a crash, a failed apply) is
// healed from the log by the next batch, or by the catch-up at the next
// subscription or tick.
func (b *Bus) runProjection(ctx context.Context, r ProjectionRunner, name string) {
	queue := make(chan pendingBatch, queuedBatches)
	var wg sync.WaitGroup
	wg.Go(func() { b.applyQueued(ctx, r, name, queue) })
	b.consume(ctx, TopicEvents, b.cfg.Prefix+"proj-"+name,
		func() { b.catchUp(ctx, r, name) },
		func(msg *message.Message) { b.enqueueBatch(ctx, name, msg, queue) })
	wg.Wait()
}

func (b *Bus) catchUp(ctx context.Context, r ProjectionRunner, name string) {
	if err := r.CatchUp(ctx, name); err != nil && ctx.Err() == nil {
		b.log.Error("projection catch-up", "projection", name, "err", err)
	}
}

// enqueueBatch decodes one events message, queues it and acks it. A
// message that cannot be decoded is logged and acked (the runner heals the
// gap from the log with the next batch or catch-up).
func (b *Bus) enqueueBatch(ctx context.Context, name string, msg *message.Message, queue chan<- pendingBatch) {
	from, to, events, err := decodeBatchMessage(msg)
	if err != nil {
		b.cfg.Metrics.badEntry()
		b.log.Error("drop undecodable batch", "projection", name, "message", msg.UUID, "err", err)
		msg.Ack()
		return
	}
	select {
	case queue <- pendingBatch{from: from, to: to, events: events}:
		msg.Ack()
	case <-ctx.Done():
		msg.Nack() // shutting down: whoever runs next gets it
	}
}

// applyQueued hands the queued batches to the runner until ctx ends,
// merging those that follow one another into one call. A batch the
// projection folds nothing of waits up to IdleMerge for more.
func (b *Bus) applyQueued(ctx context.Context, r ProjectionRunner, name string, queue <-chan pendingBatch) {
	idle := time.NewTimer(b.cfg.IdleMerge)
	defer idle.Stop()
	var next *pendingBatch
	for {
		var cur pendingBatch
		if next != nil {
			cur, next = *next, nil
		} else {
			select {
			case <-ctx.Done():
				return
			case cur = <-queue:
			}
		}
		folds := r.Folds(name, cur.events)
		idle.Reset(b.cfg.IdleMerge)
	merge:
		for len(cur.events) < mergedEvents {
			var more pendingBatch
			if folds {
				select {
				case more = <-queue:
				default:
					break merge
				}
			} else {
				select {
				case more = <-queue:
				case <-idle.C:
					break merge
				case <-ctx.Done():
					return // the checkpoint stays; the next run catches up
				}
			}
			if more.from != cur.to {
				next = &more // not consecutive: its own call, next
				break merge
			}
			// cur.events is this consumer's own decoded slice, so append
			// may grow it in place: capping it at its length made every
			// merge copy all the events gathered so far (a sparse
			// projection merging a 100 ms run: a quarter of chatd's
			// allocations at 8,000 msgs/s).
			cur.to, cur.events = more.to, append(cur.events, more.events...)
			folds = folds || r.Folds(name, more.events)
		}
		b.handleBatch(ctx, r, name, cur)
	}
}

// handleBatch applies one (merged) batch. A failure is retried from the
// log after RetryDelay: the messages are acked already.
func (b *Bus) handleBatch(ctx context.Context, r ProjectionRunner, name string, pb pendingBatch) {
	err := r.HandleBatch(ctx, name, pb.from, pb.to, pb.events)
	if err == nil || ctx.Err() != nil {
		return
	}
	b.cfg.Metrics.busError("handle_batch")
	b.log.Error("projection batch failed; will catch up from the log", "projection", name,
		"from", pb.from.String(), "to", pb.to.String(), "err", err)
	sleep(ctx, b.cfg.RetryDelay)
	b.catchUp(ctx, r, name)
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
