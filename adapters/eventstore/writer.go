package eventstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// batchWriter runs the commands of one transaction against one shared state,
// so a command sees the effects of the commands before it in the batch.
type batchWriter struct {
	tx      Tx
	cfg     Config
	state   *domain.State
	heads   map[string]Head
	changed map[string]bool // streams whose head moved
	locked  map[string]bool
	// idem caches idempotency look-ups (nil: nothing recorded) and holds
	// this batch's own keyed events, which are not inserted yet.
	idem map[IdempotencyKey]*domain.Event
	// pending are the batch's new events, inserted together at flush: one
	// statement per transaction instead of one per command.
	pending     []domain.Event
	pendingKeys []string
}

func newBatchWriter(ctx context.Context, tx Tx, batch []*request, cfg Config) (*batchWriter, error) {
	var streams, keys []string
	for _, r := range batch {
		streams = append(streams, r.streams...)
		keys = append(keys, r.cmd.Keys()...)
	}
	// A fixed lock order keeps concurrent batches from deadlocking.
	slices.Sort(streams)
	streams = slices.Compact(streams)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if ll, ok := tx.(LockLoader); ok {
		idem := idempotencyKeysOf(batch)
		loaded, err := ll.LockAndLoad(ctx, streams, Prefetch{Keys: keys, Idempotency: idem})
		if err != nil {
			return nil, fmt.Errorf("lock streams and load: %w", err)
		}
		w := newWriterState(tx, cfg, streams, loaded.Heads)
		for _, k := range keys {
			w.state.Load(k, loaded.State[k])
		}
		w.rememberIdempotent(idem, loaded.Idempotent)
		return w, nil
	}
	// Otherwise each command looks its idempotency key up when it runs
	// (SQLite: in process, no round trips to save).
	heads, err := tx.LockStreams(ctx, streams)
	if err != nil {
		return nil, fmt.Errorf("lock streams: %w", err)
	}
	w := newWriterState(tx, cfg, streams, heads)
	if err := w.load(ctx, keys); err != nil {
		return nil, err
	}
	return w, nil
}

func newWriterState(tx Tx, cfg Config, streams []string, heads map[string]Head) *batchWriter {
	versions := make(map[string]int64, len(heads))
	locked := make(map[string]bool, len(streams))
	for _, name := range streams {
		versions[name] = heads[name].Version
		locked[name] = true
	}
	return &batchWriter{tx: tx, cfg: cfg, state: domain.NewState(nil, versions),
		heads: heads, changed: map[string]bool{}, locked: locked, idem: map[IdempotencyKey]*domain.Event{}}
}

// idempotencyKeysOf lists the idempotency keys the batch's commands carry.
func idempotencyKeysOf(batch []*request) []IdempotencyKey {
	var keys []IdempotencyKey
	for _, r := range batch {
		if idem, ok := r.cmd.(domain.Idempotent); ok {
			stream, key := idem.IdempotencyKey()
			keys = append(keys, IdempotencyKey{Stream: stream, Key: key})
		}
		if a, ok := r.cmd.(domain.Append); ok {
			for _, e := range a.Events {
				if e.IdempotencyKey != "" {
					keys = append(keys, IdempotencyKey{Stream: e.Stream, Key: e.IdempotencyKey})
				}
			}
		}
	}
	return keys
}

// rememberIdempotent records the look-up of keys: found events, and nil for
// the keys not used before.
func (w *batchWriter) rememberIdempotent(keys []IdempotencyKey, found map[IdempotencyKey]domain.Event) {
	for _, k := range keys {
		w.idem[k] = nil
		if e, ok := found[k]; ok {
			w.idem[k] = &e
		}
	}
}

// findIdempotent returns the event recorded under key, from this batch, the
// prefetch or the backend.
func (w *batchWriter) findIdempotent(ctx context.Context, stream, key string) (*domain.Event, error) {
	k := IdempotencyKey{Stream: stream, Key: key}
	if e, ok := w.idem[k]; ok {
		return e, nil
	}
	e, err := w.tx.FindIdempotent(ctx, stream, key)
	if err != nil {
		return nil, fmt.Errorf("find %s %s: %w", stream, key, err)
	}
	w.idem[k] = e
	return e, nil
}

// load fetches the keys the state does not know yet.
func (w *batchWriter) load(ctx context.Context, keys []string) error {
	var missing []string
	for _, k := range keys {
		if !w.state.Has(k) {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)
	values, err := w.tx.LoadState(ctx, missing)
	if err != nil {
		return fmt.Errorf("load state: %w", err)
	}
	for _, k := range missing {
		w.state.Load(k, values[k])
	}
	return nil
}

// run decides one command and appends its events.
func (w *batchWriter) run(ctx context.Context, r *request) ([]domain.Event, error) {
	if idem, ok := r.cmd.(domain.Idempotent); ok {
		stream, key := idem.IdempotencyKey()
		prior, err := w.findIdempotent(ctx, stream, key)
		if err != nil {
			return nil, err
		}
		if prior != nil {
			return []domain.Event{*prior}, nil
		}
	}
	cmd := r.cmd
	var prior []domain.Event
	if a, ok := cmd.(domain.Append); ok {
		fresh, found, err := w.dropRepeats(ctx, a.Events)
		if err != nil {
			return nil, err
		}
		if len(fresh) == 0 && len(found) > 0 {
			return found, nil
		}
		cmd, prior = domain.Append{Events: fresh}, found
	}
	now := w.cfg.Now().UTC().Truncate(time.Millisecond)
	decided, err := cmd.Decide(w.state, now)
	if err != nil {
		return nil, err
	}
	events, err := w.append(ctx, decided, r.meta, now)
	if err != nil {
		return nil, err
	}
	if s, ok := r.cmd.(domain.WithSecret); ok && len(events) > 0 {
		if err := w.tx.PutSecret(ctx, s.Secret()); err != nil {
			return nil, fmt.Errorf("store secret: %w", err)
		}
	}
	return append(prior, events...), nil
}

// dropRepeats splits raw appends into new events and the recorded events of
// those whose idempotency key was used before.
func (w *batchWriter) dropRepeats(ctx context.Context, events []domain.NewEvent) (fresh []domain.NewEvent, found []domain.Event, err error) {
	for _, e := range events {
		if e.IdempotencyKey != "" {
			prior, err := w.findIdempotent(ctx, e.Stream, e.IdempotencyKey)
			if err != nil {
				return nil, nil, err
			}
			if prior != nil {
				found = append(found, *prior)
				continue
			}
		}
		fresh = append(fresh, e)
	}
	return fresh, found, nil
}

// append gives decided events their versions and chained hashes, inserts
// them and folds them into the inline state.
func (w *batchWriter) append(ctx context.Context, decided []domain.NewEvent, meta domain.Metadata, now time.Time) ([]domain.Event, error) {
	if len(decided) == 0 {
		return nil, nil
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	if err := w.checkExpected(decided); err != nil {
		return nil, err
	}
	events := make([]domain.Event, len(decided))
	keys := make([]string, len(decided))
	var stateKeys []string
	for i, d := range decided {
		if !w.locked[d.Stream] {
			return nil, fmt.Errorf("decision appends to %s, which the command did not lock", d.Stream)
		}
		data, err := domain.EncodePayload(d.Payload)
		if err != nil {
			return nil, err
		}
		head := w.heads[d.Stream]
		prev := head.Hash
		if len(prev) == 0 {
			prev = domain.ZeroHash
		}
		e := domain.Event{ID: w.cfg.NewID(), Stream: d.Stream, Version: head.Version + 1,
			Type: d.Payload.EventType(), Data: data, Metadata: metaJSON, RecordedAt: now, PrevHash: prev}
		e.Hash = domain.ChainHash(prev, e.Stream, e.Version, e.Type, e.Data, e.Metadata, e.RecordedAt)
		w.heads[d.Stream] = Head{Version: e.Version, Hash: e.Hash}
		w.state.SetHead(d.Stream, e.Version)
		w.changed[d.Stream] = true
		events[i], keys[i] = e, d.IdempotencyKey
		if d.IdempotencyKey != "" {
			w.idem[IdempotencyKey{Stream: d.Stream, Key: d.IdempotencyKey}] = &e
		}
		stateKeys = append(stateKeys, domain.StateKeysOf(d.Payload)...)
	}
	w.pending = append(w.pending, events...)
	w.pendingKeys = append(w.pendingKeys, keys...)
	if err := w.load(ctx, stateKeys); err != nil {
		return nil, err
	}
	for _, d := range decided {
		domain.Evolve(w.state, d.Payload)
		if ended, ok := d.Payload.(*domain.SessionEnded); ok {
			if err := w.tx.RevokeSession(ctx, ended.SessionID); err != nil {
				return nil, fmt.Errorf("revoke session: %w", err)
			}
		}
	}
	return events, nil
}

// positions gives each command's results the positions Insert filled in
// (by Commit at the latest).
func (w *batchWriter) positions(batch []*request) {
	if len(w.pending) == 0 {
		return
	}
	at := make(map[uuid.UUID]domain.Cursor, len(w.pending))
	for i := range w.pending {
		at[w.pending[i].ID] = w.pending[i].Cursor()
	}
	for _, r := range batch {
		for i := range r.events {
			if c, ok := at[r.events[i].ID]; ok {
				r.events[i].TxID, r.events[i].Position = c.TxID, c.Position
			}
		}
	}
}

// checkExpected enforces the expected versions a decision asked for (a
// room created twice, a user id reused) before anything of it is applied,
// so a conflict leaves the batch's heads untouched.
func (w *batchWriter) checkExpected(decided []domain.NewEvent) error {
	next := map[string]int64{}
	for _, d := range decided {
		head, seen := next[d.Stream]
		if !seen {
			head = w.heads[d.Stream].Version
		}
		if d.ExpectedVersion != domain.AnyVersion && d.ExpectedVersion != head {
			return domain.Errorf(domain.CodeConflict, "stream %s is at version %d, expected %d", d.Stream, head, d.ExpectedVersion)
		}
		next[d.Stream] = head + 1
	}
	return nil
}

// flush inserts the batch's events and writes the changed inline state and
// stream heads.
func (w *batchWriter) flush(ctx context.Context) error {
	if len(w.pending) > 0 {
		if err := w.tx.Insert(ctx, w.pending, w.pendingKeys); err != nil {
			return fmt.Errorf("insert %d events: %w", len(w.pending), err)
		}
	}
	if keys, values := w.state.Dirty(); len(keys) > 0 {
		if err := w.tx.SaveState(ctx, keys, values); err != nil {
			return fmt.Errorf("save state: %w", err)
		}
	}
	if len(w.changed) == 0 {
		return nil
	}
	heads := make(map[string]Head, len(w.changed))
	for name := range w.changed {
		heads[name] = w.heads[name]
	}
	if err := w.tx.SetHeads(ctx, heads); err != nil {
		return fmt.Errorf("set heads: %w", err)
	}
	return nil
}
