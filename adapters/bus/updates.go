package bus

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/chatlog/chat/projections"
)

var _ projections.UpdatePublisher = (*Bus)(nil)

// PublishUpdates publishes projected updates, in order, as one message on
// chat.updates. Bus is the runner's projections.UpdatePublisher.
func (b *Bus) PublishUpdates(ctx context.Context, updates []projections.Update) error {
	if len(updates) == 0 {
		return nil
	}
	msg := message.NewMessage(watermill.NewUUID(), EncodeUpdates(updates))
	if err := b.publish(ctx, TopicUpdates, msg); err != nil {
		return fmt.Errorf("publish %d updates: %w", len(updates), err)
	}
	b.cfg.Metrics.publishedUpdates(len(updates))
	return nil
}

// SubscribeUpdates delivers every update published from now on to deliver,
// on every node (fan-out: no consumer group), until ctx ends. deliver runs
// on one goroutine, in publish order, and must not block for long: the
// updates of the whole deployment pass through it. After the subscription
// broke (Redis restarted) updates published meanwhile are not delivered;
// gateways heal a room's missing seqs from history. subscribed (optional)
// runs each time the subscription is in place, from which point nothing
// published is missed.
func (b *Bus) SubscribeUpdates(ctx context.Context, deliver func([]projections.Update), subscribed func()) {
	b.consume(ctx, TopicUpdates, "", subscribed, func(msg *message.Message) {
		defer msg.Ack()
		if bad := msg.Metadata.Get(badEntryKey); bad != "" {
			b.dropBad(TopicUpdates, fmt.Errorf("bad stream entry: %s", bad))
			return
		}
		updates, err := DecodeUpdates(msg.Payload)
		if err != nil {
			b.dropBad(TopicUpdates, err)
			return
		}
		deliver(updates)
	})
}

// PublishSignal publishes an ephemeral signal on chat.signals (capped).
func (b *Bus) PublishSignal(ctx context.Context, s Signal) error {
	if err := b.publish(ctx, TopicSignals, message.NewMessage(watermill.NewUUID(), encodeSignal(s))); err != nil {
		return fmt.Errorf("publish signal for room %s: %w", s.Room, err)
	}
	return nil
}

// SubscribeSignals delivers every signal published from now on, on every
// node, until ctx ends; like SubscribeUpdates.
func (b *Bus) SubscribeSignals(ctx context.Context, deliver func(Signal), subscribed func()) {
	b.consume(ctx, TopicSignals, "", subscribed, func(msg *message.Message) {
		defer msg.Ack()
		if bad := msg.Metadata.Get(badEntryKey); bad != "" {
			b.dropBad(TopicSignals, fmt.Errorf("bad stream entry: %s", bad))
			return
		}
		s, err := decodeSignal(msg.Payload)
		if err != nil {
			b.dropBad(TopicSignals, err)
			return
		}
		deliver(s)
	})
}

func (b *Bus) dropBad(topic string, err error) {
	b.cfg.Metrics.badEntry()
	b.log.Error("drop undecodable message", "topic", topic, "err", err)
}
