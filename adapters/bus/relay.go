package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/chatlog/chat/domain"
)

// RelaySource is the log as the relay needs it (adapters/postgres and
// adapters/sqlite provide it).
type RelaySource interface {
	// ReadAll returns up to limit events after cursor in commit-safe order.
	ReadAll(ctx context.Context, after domain.Cursor, limit int) ([]domain.Event, error)
	LoadRelayCheckpoint(ctx context.Context) (domain.Cursor, error)
	SaveRelayCheckpoint(ctx context.Context, c domain.Cursor) error
	LogHead(ctx context.Context) (domain.Cursor, error)
	// Wakeups signals, coalesced, after commits to the log.
	Wakeups(ctx context.Context) <-chan struct{}
	// AcquireLeadership waits until this process holds the lock name; lost
	// closes if it is taken away, release gives it up.
	AcquireLeadership(ctx context.Context, name string) (lost <-chan struct{}, release func(), err error)
}

// HorizonSource is a RelaySource whose commit-safe reads can leave
// committed events behind a transaction still running (PostgreSQL: rows of
// transactions at or above the snapshot's xmin). ReadAllHeld says, with
// the read, whether any wait so: their release sends no wake-up of its
// own, so the relay reads again shortly rather than at the next commit or
// poll, which in a quiet deployment is half a second away.
type HorizonSource interface {
	ReadAllHeld(ctx context.Context, after domain.Cursor, limit int) (events []domain.Event, heldBack bool, err error)
}

// The relay reads again after heldRetryMin when events were held back,
// doubling the wait up to heldRetryMax while they stay held: the
// transactions that hold them (appends, projection batches) last
// milliseconds, and a long one costs at most a read per heldRetryMax.
const (
	heldRetryMin = time.Millisecond
	heldRetryMax = 32 * time.Millisecond
)

// RelayConfig configures a Relay.
type RelayConfig struct {
	Source RelaySource
	Bus    *Bus
	// BatchSize is the most events per bus message: redisstream reads one
	// entry per round trip, so batching is what makes the bus fast.
	BatchSize int
	// Poll is the backup to Wakeups: a lost notification, or commits made
	// by other nodes that this node is not told about.
	Poll time.Duration
	// SaveEvery is how often, at most, the checkpoint is saved while
	// batches flow; it is saved too at each poll and at shutdown. A relay
	// that dies republishes what it sent since, which projections and
	// gateways skip. Saving after every batch cost a PostgreSQL
	// transaction and a round trip on the way of every event.
	SaveEvery time.Duration
	Logger    *slog.Logger
	Metrics   *Metrics // optional
}

func (c *RelayConfig) setDefaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 256
	}
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.SaveEvery <= 0 {
		c.SaveEvery = 100 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Relay publishes the log to chat.events. One relay leads per deployment;
// the others wait on the leadership lock. Its checkpoint is saved every
// SaveEvery while it publishes, so a crash republishes the batches of that
// while, which the projections skip.
type Relay struct {
	cfg RelayConfig
	log *slog.Logger
}

// LeadershipName is the lock the relays compete for.
const LeadershipName = "relay"

// NewRelay checks cfg and returns a relay; it runs with Run.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	cfg.setDefaults()
	if cfg.Source == nil || cfg.Bus == nil {
		return nil, errors.New("relay: Source and Bus are required")
	}
	return &Relay{cfg: cfg, log: cfg.Logger.With("component", "relay")}, nil
}

// Run waits for leadership, relays while it leads, and waits again when it
// loses it, until ctx ends (then it returns nil).
func (r *Relay) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		lost, release, err := r.cfg.Source.AcquireLeadership(ctx, LeadershipName)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.cfg.Metrics.busError("relay_leadership")
			r.log.Warn("acquire relay leadership", "err", err)
			sleep(ctx, r.cfg.Poll)
			continue
		}
		r.log.Info("relay leads")
		r.cfg.Metrics.Leading(LeadershipName, true)
		err = r.lead(ctx, lost)
		r.cfg.Metrics.Leading(LeadershipName, false)
		release()
		if err != nil {
			r.cfg.Metrics.busError("relay")
			r.log.Error("relay stopped leading after an error", "err", err)
			sleep(ctx, r.cfg.Poll)
		} else if ctx.Err() == nil {
			r.log.Warn("relay lost leadership")
		}
	}
	return nil
}

// lead relays until leadership is lost (nil), ctx ends (nil) or the log or
// bus fails (the error).
func (r *Relay) lead(ctx context.Context, lost <-chan struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wake := r.cfg.Source.Wakeups(ctx)
	poll := time.NewTicker(r.cfg.Poll)
	defer poll.Stop()
	cp, err := r.cfg.Source.LoadRelayCheckpoint(ctx)
	if err != nil {
		return fmt.Errorf("load relay checkpoint: %w", err)
	}
	saved := savedCheckpoint{src: r.cfg.Source, cursor: cp, at: time.Now()}
	defer func() { r.saveAtShutdown(ctx, lost, &saved, cp) }()
	retry := newHeldRetry()
	defer retry.timer.Stop()
	for {
		select {
		case <-lost:
			return nil
		case <-ctx.Done():
			return nil
		default:
		}
		next, n, held, err := r.relayOnce(ctx, cp)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		cp = next
		if n > 0 && time.Since(saved.at) >= r.cfg.SaveEvery {
			if err := saved.save(ctx, cp); err != nil {
				return err
			}
		}
		if n == r.cfg.BatchSize {
			continue // more is waiting
		}
		again := retry.after(held)
		select {
		case <-lost:
			return nil
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-again:
		case <-poll.C:
			r.observeLag(ctx, cp)
			if err := saved.save(ctx, cp); err != nil {
				return err
			}
		}
		retry.timer.Stop()
	}
}

// heldRetry paces the reads while events are held back behind the horizon.
type heldRetry struct {
	timer   *time.Timer
	backoff time.Duration
}

func newHeldRetry() *heldRetry {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &heldRetry{timer: t, backoff: heldRetryMin}
}

// after returns when to read again without a wake-up: heldRetryMin after
// the first read that found events held, doubling while they stay held;
// never (nil) once a read found none.
func (h *heldRetry) after(held bool) <-chan time.Time {
	if !held {
		h.backoff = heldRetryMin
		return nil
	}
	h.timer.Reset(h.backoff)
	h.backoff = min(2*h.backoff, heldRetryMax)
	return h.timer.C
}

// relayOnce publishes the next batch after cp. It reports whether
// committed events were held back behind the horizon.
func (r *Relay) relayOnce(ctx context.Context, cp domain.Cursor) (domain.Cursor, int, bool, error) {
	events, held, err := r.read(ctx, cp)
	if err != nil {
		return cp, 0, false, fmt.Errorf("read log after %s: %w", cp, err)
	}
	if len(events) == 0 {
		return cp, 0, held, nil
	}
	to := events[len(events)-1].Cursor()
	if err := r.cfg.Bus.PublishBatch(ctx, cp, to, events); err != nil {
		return cp, 0, false, err
	}
	r.cfg.Metrics.published(len(events), events[0].RecordedAt)
	return to, len(events), held, nil
}

// saveAtShutdown saves cp when lead returns because ctx ended: a shutdown
// keeps what was published. After an error or a lost leadership it saves
// nothing (the next leader may already have saved further).
func (r *Relay) saveAtShutdown(ctx context.Context, lost <-chan struct{}, saved *savedCheckpoint, cp domain.Cursor) {
	if ctx.Err() == nil || isClosed(lost) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := saved.save(ctx, cp); err != nil {
		r.log.Warn("save relay checkpoint at shutdown", "err", err)
	}
}

// savedCheckpoint is the relay checkpoint as last saved.
type savedCheckpoint struct {
	src    RelaySource
	cursor domain.Cursor
	at     time.Time
}

// save saves cp unless it is what was saved last.
func (s *savedCheckpoint) save(ctx context.Context, cp domain.Cursor) error {
	if cp == s.cursor {
		return nil
	}
	if err := s.src.SaveRelayCheckpoint(ctx, cp); err != nil {
		return fmt.Errorf("save relay checkpoint %s: %w", cp, err)
	}
	s.cursor, s.at = cp, time.Now()
	return nil
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (r *Relay) read(ctx context.Context, cp domain.Cursor) ([]domain.Event, bool, error) {
	if hs, ok := r.cfg.Source.(HorizonSource); ok {
		return hs.ReadAllHeld(ctx, cp, r.cfg.BatchSize)
	}
	events, err := r.cfg.Source.ReadAll(ctx, cp, r.cfg.BatchSize)
	return events, false, err
}

func (r *Relay) observeLag(ctx context.Context, cp domain.Cursor) {
	if r.cfg.Metrics == nil {
		return
	}
	head, err := r.cfg.Source.LogHead(ctx)
	if err != nil {
		r.log.Warn("read log head for relay lag", "err", err)
		return
	}
	r.cfg.Metrics.lag(max(head.Position-cp.Position, 0))
}

// PublishBatch publishes events, read from the log after from and ending
// at to, as one message on chat.events.
func (b *Bus) PublishBatch(ctx context.Context, from, to domain.Cursor, events []domain.Event) error {
	msg := message.NewMessage(watermill.NewUUID(), EncodeBatch(events))
	msg.Metadata.Set(MetaFrom, from.String())
	msg.Metadata.Set(MetaTo, to.String())
	if err := b.publish(ctx, TopicEvents, msg); err != nil {
		return fmt.Errorf("publish batch %s..%s: %w", from, to, err)
	}
	return nil
}
