package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/chatlog/chat/domain"
)

// UpdatePublisher carries projected updates to the gateways.
type UpdatePublisher interface {
	// PublishUpdates publishes updates in the given order. The runner calls
	// it only after the read-model transaction committed, and never retries:
	// gateways heal a missed update from the history read model.
	PublishUpdates(ctx context.Context, updates []Update) error
}

// HeadReader reports the newest committed position of the log.
type HeadReader interface {
	LogHead(ctx context.Context) (domain.Cursor, error)
}

// RunnerConfig wires a Runner.
type RunnerConfig struct {
	Store       Store
	Log         LogReader
	Head        HeadReader // optional: without it Status reports no lag in events
	Projections []Projection
	Updates     UpdatePublisher // optional: nil publishes nothing
	Logger      *slog.Logger
	Metrics     *RunnerMetrics // optional
	// ReadBatch is how many events one catch-up or heal transaction reads
	// from the log and applies.
	ReadBatch int
	// RebuildBatch is how many events one rebuild transaction applies.
	// Between transactions the store waits for the commit while the fold
	// has nothing to hand it, so large batches keep both busy; reading
	// runs up to three batches ahead (a few tens of MB at the default).
	RebuildBatch int
}

func (c *RunnerConfig) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ReadBatch <= 0 {
		c.ReadBatch = 1000
	}
	if c.RebuildBatch <= 0 {
		c.RebuildBatch = 20000
	}
}

// Validate reports a configuration the runner cannot work with.
func (c *RunnerConfig) Validate() error {
	if c.Store == nil || c.Log == nil {
		return errors.New("runner: Store and Log are required")
	}
	seen := make(map[string]bool, len(c.Projections))
	for _, p := range c.Projections {
		if seen[p.Name()] {
			return fmt.Errorf("runner: projection %q listed twice", p.Name())
		}
		seen[p.Name()] = true
	}
	return nil
}

// Runner feeds log events to projections: batches from the bus
// (HandleBatch), the log itself when the bus lost or skipped something
// (CatchUp, heal), and whole-log rebuilds of a new version (Rebuild).
//
// All of its methods are safe for concurrent use. Batches of one projection
// are applied one at a time on this node, so its updates leave in log order;
// across nodes the checkpoint row lock (Store.Begin) keeps them exactly-once.
type Runner struct {
	cfg    RunnerConfig
	log    *slog.Logger
	byName map[string]*projState
}

// projState is what the runner keeps per projection on this node.
type projState struct {
	p  Projection
	mu sync.Mutex // serialises apply → commit → publish

	statMu      sync.Mutex
	lastApplied time.Time // recorded_at of the last event applied here
}

// NewRunner checks cfg and returns a runner; nothing runs until Start.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, log: cfg.Logger.With("component", "projections"), byName: make(map[string]*projState)}
	for _, p := range cfg.Projections {
		r.byName[p.Name()] = &projState{p: p}
	}
	return r, nil
}

// Names returns the projections this runner feeds, in configuration order.
func (r *Runner) Names() []string {
	names := make([]string, 0, len(r.cfg.Projections))
	for _, p := range r.cfg.Projections {
		names = append(names, p.Name())
	}
	return names
}

// Start prepares every projection (creating tables and checkpoints of its
// code version, which serve if nothing served before) and catches each up
// with the log, so a node serves fresh reads before the bus delivers.
func (r *Runner) Start(ctx context.Context) error {
	for _, p := range r.cfg.Projections {
		if err := r.cfg.Store.Prepare(ctx, p.Name(), p.Version()); err != nil {
			return fmt.Errorf("prepare projection %s v%d: %w", p.Name(), p.Version(), err)
		}
		serving, _, err := r.cfg.Store.Versions(ctx, p.Name())
		if err != nil {
			return fmt.Errorf("versions of projection %s: %w", p.Name(), err)
		}
		if serving != p.Version() {
			r.log.Warn("projection serves another version than the code's; rebuild it",
				"projection", p.Name(), "serving", serving, "code", p.Version())
		}
	}
	for _, p := range r.cfg.Projections {
		if err := r.CatchUp(ctx, p.Name()); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) state(name string) (*projState, error) {
	st, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("projection %q: %w", name, ErrNoProjection)
	}
	return st, nil
}

// HandleBatch applies a batch of consecutive log events that the relay
// read after cursor from, ending at cursor to. It is idempotent by
// checkpoint: a batch the projection already holds is skipped, the part of
// an overlapping batch it holds is skipped, and a batch that starts after
// the checkpoint (the bus lost something) is replaced by reading the log
// from the checkpoint to `to`. A returned error left the checkpoint where
// it was; delivering the batch again is the way to retry.
func (r *Runner) HandleBatch(ctx context.Context, name string, from, to domain.Cursor, events []domain.Event) error {
	st, err := r.state(name)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()

	tx, err := r.cfg.Store.Begin(ctx, name)
	if err != nil {
		return fmt.Errorf("begin projection %s: %w", name, err)
	}
	cp, err := tx.Checkpoint(ctx)
	if err != nil {
		rollback(ctx, tx, r.log)
		return fmt.Errorf("checkpoint of projection %s: %w", name, err)
	}
	if cp.Less(from) {
		rollback(ctx, tx, r.log)
		r.cfg.Metrics.healed(name)
		r.log.Info("projection heals a gap from the log", "projection", name,
			"checkpoint", cp.String(), "batch_from", from.String(), "batch_to", to.String())
		return r.applyFromLogLocked(ctx, st, &to)
	}
	defer rollback(ctx, tx, r.log)
	if !cp.Less(to) {
		r.cfg.Metrics.skipped(name)
		return nil
	}
	// cp == from, or from < cp < to: apply what comes after the checkpoint.
	i := 0
	for i < len(events) && !cp.Less(events[i].Cursor()) {
		i++
	}
	updates, err := r.applyEvents(ctx, st, tx, events[i:], true)
	if err != nil {
		return err
	}
	return r.commit(ctx, st, tx, to, events[i:], updates)
}

// CatchUp applies everything between the projection's checkpoint and the
// log head straight from the log, publishing updates as batches would.
func (r *Runner) CatchUp(ctx context.Context, name string) error {
	st, err := r.state(name)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return r.applyFromLogLocked(ctx, st, nil)
}

// applyFromLogLocked applies the log after the checkpoint, one transaction
// per ReadBatch events, up to and including until (nil: the head). The
// caller holds st.mu.
func (r *Runner) applyFromLogLocked(ctx context.Context, st *projState, until *domain.Cursor) error {
	name := st.p.Name()
	for {
		tx, err := r.cfg.Store.Begin(ctx, name)
		if err != nil {
			return fmt.Errorf("begin projection %s: %w", name, err)
		}
		done, err := r.applyChunk(ctx, st, tx, until)
		rollback(ctx, tx, r.log)
		if err != nil || done {
			return err
		}
	}
}

// applyChunk reads and applies one ReadBatch of the log in tx and commits;
// done reports that nothing is left to read (up to until).
func (r *Runner) applyChunk(ctx context.Context, st *projState, tx Tx, until *domain.Cursor) (done bool, err error) {
	name := st.p.Name()
	cp, err := tx.Checkpoint(ctx)
	if err != nil {
		return false, fmt.Errorf("checkpoint of projection %s: %w", name, err)
	}
	if until != nil && !cp.Less(*until) {
		return true, nil
	}
	events, err := r.cfg.Log.ReadAll(ctx, cp, r.cfg.ReadBatch)
	if err != nil {
		return false, fmt.Errorf("read log after %s for projection %s: %w", cp, name, err)
	}
	full := len(events) == r.cfg.ReadBatch
	if until != nil {
		n := 0
		for n < len(events) && !until.Less(events[n].Cursor()) {
			n++
		}
		full = full && n == len(events)
		events = events[:n]
	}
	if len(events) == 0 {
		return true, nil
	}
	updates, err := r.applyEvents(ctx, st, tx, events, true)
	if err != nil {
		return false, err
	}
	if err := r.commit(ctx, st, tx, events[len(events)-1].Cursor(), events, updates); err != nil {
		return false, err
	}
	return !full, nil
}

// applyEvents folds events through tx and gathers their updates (when
// collect is set; rebuilds publish nothing).
func (r *Runner) applyEvents(ctx context.Context, st *projState, tx Tx, events []domain.Event, collect bool) ([]Update, error) {
	var updates []Update
	sel, _ := st.p.(Selective)
	for i := range events {
		e := &events[i]
		p, err := decodeFor(sel, e)
		if err != nil {
			r.cfg.Metrics.failed(st.p.Name())
			return nil, fmt.Errorf("projection %s: %w", st.p.Name(), err)
		}
		ups, err := st.p.Apply(ctx, tx, e, p)
		if err != nil {
			r.cfg.Metrics.failed(st.p.Name())
			return nil, fmt.Errorf("projection %s v%d: apply %s at position %d: %w",
				st.p.Name(), tx.Version(), e.Type, e.Position, err)
		}
		if collect {
			updates = append(updates, ups...)
		}
	}
	return updates, nil
}

// Folds reports whether projection name does anything with events beyond
// moving its checkpoint (true for a projection that is not Sparse, or
// unknown to the runner).
func (r *Runner) Folds(name string, events []domain.Event) bool {
	st, err := r.state(name)
	if err != nil {
		return true
	}
	sparse, ok := st.p.(Sparse)
	if !ok {
		return true
	}
	for i := range events {
		if sparse.Folds(events[i].Type) {
			return true
		}
	}
	return false
}

// decodeFor decodes e's payload when the projection reads it (sel nil:
// always). An unknown type is an error either way.
func decodeFor(sel Selective, e *domain.Event) (domain.Payload, error) {
	if sel == nil || sel.Reads(e.Type) {
		return e.Decode()
	}
	if !domain.KnownEventType(e.Type) {
		return nil, fmt.Errorf("event at position %d (%s v%d): unknown type %q", e.Position, e.Stream, e.Version, e.Type)
	}
	return nil, nil
}

// commit moves the checkpoint to `to`, commits, then publishes updates.
func (r *Runner) commit(ctx context.Context, st *projState, tx Tx, to domain.Cursor, applied []domain.Event, updates []Update) error {
	name := st.p.Name()
	if err := tx.SetCheckpoint(ctx, to); err != nil {
		return fmt.Errorf("set checkpoint of projection %s to %s: %w", name, to, err)
	}
	if err := tx.Commit(ctx); err != nil {
		r.cfg.Metrics.failed(name)
		return fmt.Errorf("commit projection %s at %s: %w", name, to, err)
	}
	r.cfg.Metrics.applied(name, applied)
	st.statMu.Lock()
	if len(applied) > 0 {
		st.lastApplied = applied[len(applied)-1].RecordedAt
	}
	st.statMu.Unlock()
	if len(updates) == 0 || r.cfg.Updates == nil {
		return nil
	}
	if err := r.cfg.Updates.PublishUpdates(ctx, updates); err != nil {
		// The read model is committed and the batch must not be redelivered
		// for its updates: gateways heal a missing seq from history.
		r.cfg.Metrics.publishFailed(name)
		r.log.Error("publish projected updates", "projection", name, "at", to, "updates", len(updates), "err", err)
	}
	return nil
}

// rollback abandons tx; after Commit it does nothing, so it is deferred.
func rollback(ctx context.Context, tx Tx, log *slog.Logger) {
	if err := tx.Rollback(context.WithoutCancel(ctx)); err != nil {
		log.Warn("roll back projection transaction", "err", err)
	}
}
