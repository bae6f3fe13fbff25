// Package bus carries the log and its projected updates between processes
// with Watermill: Redis Streams in production, in-process GoChannels in the
// embedded mode. It holds the relay (log → chat.events), the projection
// consumers (chat.events → projections.Runner), the updates fan-out
// (projections → chat.updates → every gateway) and the typing signals.
//
// Nothing on the bus is the truth: the log is. Batches carry their log
// cursors so a projection can tell a duplicate from a gap and heal from the
// log; losing Redis data costs time, never events.
//
// It must never import a database adapter; the log is reached through the
// small ports declared here.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/redis/go-redis/v9"
)

// Topic names, before Config.Prefix.
const (
	TopicEvents  = "chat.events"
	TopicUpdates = "chat.updates"
	TopicSignals = "chat.signals"
)

// Message metadata keys of an events batch.
const (
	MetaFrom = "from"
	MetaTo   = "to"
)

// Config configures a Bus.
type Config struct {
	// Prefix is prepended to every stream and consumer-group name, so
	// several deployments (or tests) can share one Redis.
	Prefix string
	// Node is this process's stable consumer name within consumer groups.
	Node    string
	Logger  *slog.Logger
	Metrics *Metrics // optional
	// Stream caps (approximate MAXLEN), in messages. A projection that falls
	// further behind than EventsMaxLen heals from the log.
	EventsMaxLen  int64
	UpdatesMaxLen int64
	SignalsMaxLen int64
	// RetryDelay is the pause before re-subscribing after a subscription
	// ended, and before redelivering a batch that failed.
	RetryDelay time.Duration
	// IdleMerge is how long a batch that only moves a projection's
	// checkpoint waits for the batches after it, to share a transaction.
	// Under load the relay publishes a few hundred batches a second, each
	// a transaction for every projection, though three of the five have
	// nothing to fold in a run of messages; nobody waits for their
	// checkpoints but the lag metrics. Default 100ms.
	IdleMerge time.Duration
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Node == "" {
		c.Node = "node-" + watermill.NewShortUUID()
	}
	if c.EventsMaxLen == 0 {
		c.EventsMaxLen = 20_000
	}
	if c.UpdatesMaxLen == 0 {
		c.UpdatesMaxLen = 20_000
	}
	if c.SignalsMaxLen == 0 {
		c.SignalsMaxLen = 1_000
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = 500 * time.Millisecond
	}
	if c.IdleMerge == 0 {
		c.IdleMerge = 100 * time.Millisecond
	}
}

// Bus publishes and subscribes to the chat topics. Its methods are safe for
// concurrent use.
type Bus struct {
	cfg  Config
	log  *slog.Logger
	wlog watermill.LoggerAdapter

	redis redis.UniversalClient // nil in embedded mode
	pub   message.Publisher     // Redis mode
	// Embedded mode: one GoChannel per topic. GoChannel publishes under a
	// read lock held until every subscriber acked; with one instance, a
	// Subscribe waiting for the write lock would block a projection's
	// updates publish while the relay waits for that projection's ack.
	local map[string]*gochannel.GoChannel
}

// NewRedis returns a bus on Redis Streams. The client stays the caller's:
// Close does not close it.
func NewRedis(client redis.UniversalClient, cfg Config) (*Bus, error) {
	if client == nil {
		return nil, errors.New("bus: redis client is nil")
	}
	b := newBus(cfg)
	b.redis = noClose{client}
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{
		Client: b.redis,
		Maxlens: map[string]int64{
			b.Topic(TopicEvents):  b.cfg.EventsMaxLen,
			b.Topic(TopicUpdates): b.cfg.UpdatesMaxLen,
			b.Topic(TopicSignals): b.cfg.SignalsMaxLen,
		},
	}, b.wlog)
	if err != nil {
		return nil, fmt.Errorf("redis stream publisher: %w", err)
	}
	b.pub = pub
	return b, nil
}

// NewEmbedded returns an in-process bus for the single-node mode. Messages
// published while nobody subscribes are dropped, which the projections'
// catch-up from the log covers.
func NewEmbedded(cfg Config) *Bus {
	b := newBus(cfg)
	b.local = make(map[string]*gochannel.GoChannel, 3)
	for _, t := range []string{TopicEvents, TopicUpdates, TopicSignals} {
		// Blocking until acked keeps messages in order (GoChannel otherwise
		// delivers each from its own goroutine) and pushes back on the
		// publisher instead of queueing without bound.
		b.local[b.Topic(t)] = gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, b.wlog)
	}
	return b
}

func newBus(cfg Config) *Bus {
	cfg.setDefaults()
	log := cfg.Logger.With("component", "bus")
	// Watermill logs every (re)subscription and publish-without-subscriber
	// at info; that is debug detail for us.
	wlog := quietCancel{watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})}
	return &Bus{cfg: cfg, log: log, wlog: wlog}
}

// Topic returns the stream name of topic under the configured prefix.
func (b *Bus) Topic(topic string) string { return b.cfg.Prefix + topic }

// Node is this process's consumer name.
func (b *Bus) Node() string { return b.cfg.Node }

// Ping checks that the bus can be reached.
func (b *Bus) Ping(ctx context.Context) error {
	if b.redis == nil {
		return nil
	}
	if err := b.redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Close stops publishing and ends embedded subscriptions. Redis
// subscriptions end with the contexts they were started with.
func (b *Bus) Close() error {
	var errs []error
	if b.pub != nil {
		errs = append(errs, b.pub.Close())
	}
	for _, g := range b.local {
		errs = append(errs, g.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close bus: %w", err)
	}
	return nil
}

func (b *Bus) publish(ctx context.Context, topic string, msg *message.Message) error {
	msg.SetContext(ctx)
	topic = b.Topic(topic)
	var err error
	if b.local != nil {
		err = b.local[topic].Publish(topic, msg)
	} else {
		err = b.pub.Publish(topic, msg)
	}
	if err != nil {
		b.cfg.Metrics.busError("publish")
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	return nil
}

// subscribe opens one subscription to topic: in consumer group `group`
// (as this node) or, with group "", as a fan-out reader of new entries.
// The channel closes when ctx ends or, on Redis, at the first read error
// (NOGROUP after a flush, a lost connection): the caller re-subscribes,
// which re-creates the group.
func (b *Bus) subscribe(ctx context.Context, topic, group string) (<-chan *message.Message, func(), error) {
	topic = b.Topic(topic)
	if b.local != nil {
		ch, err := b.local[topic].Subscribe(ctx, topic)
		if err != nil {
			return nil, nil, fmt.Errorf("subscribe to %s: %w", topic, err)
		}
		return ch, func() {}, nil
	}
	fanOutFrom := "$"
	if group == "" {
		// redisstream re-sends "$" on every empty blocking read until the
		// first entry arrives, so an entry added between two reads would be
		// missed; starting from the ID that is last now has no such window.
		var err error
		if fanOutFrom, err = b.lastID(ctx, topic); err != nil {
			return nil, nil, err
		}
	}
	sub, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{
		Client:                        b.redis,
		Unmarshaller:                  safeUnmarshaller{},
		Consumer:                      b.cfg.Node,
		ConsumerGroup:                 group,
		OldestId:                      "0", // a re-created group reads what arrived since the flush
		FanOutOldestId:                fanOutFrom,
		DisableIndefiniteInitialBlock: true,
		ShouldStopOnReadErrors:        func(error) bool { return true },
	}, b.wlog)
	if err != nil {
		return nil, nil, fmt.Errorf("redis stream subscriber for %s: %w", topic, err)
	}
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		_ = sub.Close()
		return nil, nil, fmt.Errorf("subscribe to %s (group %q): %w", topic, group, err)
	}
	return ch, func() {
		if err := sub.Close(); err != nil {
			b.log.Warn("close subscriber", "topic", topic, "err", err)
		}
	}, nil
}

// lastID returns the ID of the newest entry of stream, or "0-0".
func (b *Bus) lastID(ctx context.Context, stream string) (string, error) {
	last, err := b.redis.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("last entry of %s: %w", stream, err)
	}
	if len(last) == 0 {
		return "0-0", nil
	}
	return last[0].ID, nil
}

// consume subscribes to topic and hands every message to handle (which
// must ack or nack it) until ctx ends, re-subscribing whenever the
// subscription breaks. onSubscribed runs after each (re)subscription.
func (b *Bus) consume(ctx context.Context, topic, group string, onSubscribed func(), handle func(*message.Message)) {
	// While Redis is away, retry ever more slowly, up to maxBackoff.
	const maxBackoff = 10 * time.Second
	delay := b.cfg.RetryDelay
	for ctx.Err() == nil {
		ch, closeSub, err := b.subscribe(ctx, topic, group)
		if err != nil {
			b.cfg.Metrics.busError("subscribe")
			b.log.Warn("subscribe failed; retrying", "topic", topic, "group", group, "in", delay, "err", err)
			sleep(ctx, delay)
			delay = min(2*delay, maxBackoff)
			continue
		}
		delay = b.cfg.RetryDelay
		if onSubscribed != nil {
			onSubscribed()
		}
		for msg := range ch {
			handle(msg)
		}
		closeSub()
		if ctx.Err() != nil {
			return
		}
		b.cfg.Metrics.busError("subscription")
		b.log.Warn("subscription ended; re-subscribing", "topic", topic, "group", group)
		sleep(ctx, delay)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// noClose shares a Redis client with Watermill, whose Close would close it.
type noClose struct{ redis.UniversalClient }

func (noClose) Close() error { return nil }

// badEntryKey marks a message whose entry could not be unmarshalled.
const badEntryKey = "bus_bad_entry"

// safeUnmarshaller never fails: redisstream stops the whole subscription on
// an unmarshal error, so one poisoned entry would stop a projection. A bad
// entry becomes a message marked with badEntryKey, which handlers log and ack.
type safeUnmarshaller struct{}

func (safeUnmarshaller) Unmarshal(values map[string]any) (msg *message.Message, err error) {
	defer func() {
		// The default unmarshaller type-asserts field values and panics on
		// entries not written by Watermill.
		if r := recover(); r != nil {
			msg, err = badMessage(fmt.Errorf("unmarshal panicked: %v", r)), nil
		}
	}()
	m, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(values)
	if err != nil {
		return badMessage(err), nil
	}
	return m, nil
}

func badMessage(err error) *message.Message {
	m := message.NewMessage(watermill.NewUUID(), nil)
	m.Metadata.Set(badEntryKey, err.Error())
	return m
}
