package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/chatlog/chat/domain"
)

// Progress is a rebuild's report, sent after every committed batch and
// once more when the new version serves.
type Progress struct {
	Name    string
	Version int   // the version being built
	Applied int64 // events applied by this run (a resumed run starts at 0)
	// Position is the rebuild's checkpoint position and Total the log head
	// position when the rebuild started: positions approximate event counts.
	Position     int64
	Total        int64
	EventsPerSec float64
	ETA          time.Duration
	Activated    bool
}

// RebuildVersion is the version a rebuild builds: the code's Version when
// it is newer than the serving one (the fold changed), else serving+1 (the
// same fold rebuilt into fresh tables, e.g. after a bad migration). Because
// it depends only on those two, an interrupted rebuild that is run again
// picks the same version and resumes from its checkpoint.
func RebuildVersion(serving, code int) int {
	if code > serving {
		return code
	}
	return serving + 1
}

// activateAttempts bounds how often Rebuild retries the switch when other
// nodes keep moving the serving checkpoint between alignment and Activate.
const activateAttempts = 10

// Rebuild builds a new version of projection name from position zero into
// fresh tables while the serving version keeps serving, then switches reads
// to it (Store.Activate drops the old one). Updates are not published while
// building: the serving version publishes them. Interrupting it (ctx) leaves
// the serving version untouched; running it again resumes.
func (r *Runner) Rebuild(ctx context.Context, name string, progress func(Progress)) error {
	st, err := r.state(name)
	if err != nil {
		return err
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	serving, _, err := r.cfg.Store.Versions(ctx, name)
	if err != nil {
		return fmt.Errorf("versions of projection %s: %w", name, err)
	}
	target := RebuildVersion(serving, st.p.Version())
	if err := r.cfg.Store.Prepare(ctx, name, target); err != nil {
		return fmt.Errorf("prepare projection %s v%d: %w", name, target, err)
	}
	pr := Progress{Name: name, Version: target}
	if r.cfg.Head != nil {
		head, err := r.cfg.Head.LogHead(ctx)
		if err != nil {
			return fmt.Errorf("log head: %w", err)
		}
		pr.Total = head.Position
	}
	r.log.Info("projection rebuild starts", "projection", name, "serving", serving, "building", target)
	start := time.Now()
	report := func(applied int, at domain.Cursor) {
		pr.Applied += int64(applied)
		pr.Position = at.Position
		if secs := time.Since(start).Seconds(); secs > 0 {
			pr.EventsPerSec = float64(pr.Applied) / secs
		}
		if pr.EventsPerSec > 0 && pr.Total > pr.Position {
			pr.ETA = time.Duration(float64(pr.Total-pr.Position) / pr.EventsPerSec * float64(time.Second))
		} else {
			pr.ETA = 0
		}
		progress(pr)
	}
	if err := r.rebuildTo(ctx, st, target, nil, report); err != nil {
		return err
	}
	if err := r.activate(ctx, st, target, report); err != nil {
		return err
	}
	pr.Activated, pr.ETA = true, 0
	progress(pr)
	r.log.Info("projection rebuilt and serving", "projection", name, "version", target,
		"events", pr.Applied, "events_per_sec", int64(pr.EventsPerSec))
	return nil
}

// activate aligns the serving and the new version on one checkpoint and
// switches. It holds st.mu so this node applies nothing to the serving
// version meanwhile; other nodes may, which is what the retries are for.
func (r *Runner) activate(ctx context.Context, st *projState, target int, report func(int, domain.Cursor)) error {
	name := st.p.Name()
	var lastErr error
	for range activateAttempts {
		if err := r.rebuildTo(ctx, st, target, nil, report); err != nil {
			return err
		}
		st.mu.Lock()
		lastErr = r.alignAndActivate(ctx, st, target, report)
		st.mu.Unlock()
		if lastErr == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("activate projection %s v%d: %w", name, target, ctx.Err())
		}
		r.log.Info("projection rebuild retries the switch", "projection", name, "version", target, "err", lastErr)
	}
	return fmt.Errorf("activate projection %s v%d after %d attempts: %w", name, target, activateAttempts, lastErr)
}

func (r *Runner) alignAndActivate(ctx context.Context, st *projState, target int, report func(int, domain.Cursor)) error {
	name := st.p.Name()
	servingCp, err := r.checkpoint(ctx, name, 0)
	if err != nil {
		return err
	}
	newCp, err := r.checkpoint(ctx, name, target)
	if err != nil {
		return err
	}
	to := later(servingCp, newCp)
	if servingCp.Less(to) {
		if err := r.applyFromLogLocked(ctx, st, &to); err != nil {
			return err
		}
	}
	if newCp.Less(to) {
		if err := r.rebuildTo(ctx, st, target, &to, report); err != nil {
			return err
		}
	}
	if err := r.cfg.Store.Activate(ctx, name, target); err != nil {
		return fmt.Errorf("activate projection %s v%d at %s: %w", name, target, to, err)
	}
	return nil
}

func later(a, b domain.Cursor) domain.Cursor {
	if a.Less(b) {
		return b
	}
	return a
}

// checkpoint reads the checkpoint of name at version (0: the serving one).
func (r *Runner) checkpoint(ctx context.Context, name string, version int) (domain.Cursor, error) {
	var tx Tx
	var err error
	if version == 0 {
		tx, err = r.cfg.Store.Begin(ctx, name)
	} else {
		tx, err = r.cfg.Store.BeginVersion(ctx, name, version)
	}
	if err != nil {
		return domain.Cursor{}, fmt.Errorf("begin projection %s v%d: %w", name, version, err)
	}
	defer rollback(ctx, tx, r.log)
	cp, err := tx.Checkpoint(ctx)
	if err != nil {
		return domain.Cursor{}, fmt.Errorf("checkpoint of projection %s v%d: %w", name, version, err)
	}
	return cp, nil
}

// RebuildReader is a LogReader with a read for rebuilds: the events of
// ReadAll, in its order, but possibly without the fields no fold uses (ID,
// PrevHash, Hash), read the way that suits reading the whole log.
type RebuildReader interface {
	ReadRebuild(ctx context.Context, after domain.Cursor, limit int) ([]domain.Event, error)
}

// readLog is the read readAhead uses: ReadRebuild where the log has it.
func (r *Runner) readLog(ctx context.Context, after domain.Cursor, limit int) ([]domain.Event, error) {
	if rr, ok := r.cfg.Log.(RebuildReader); ok {
		return rr.ReadRebuild(ctx, after, limit)
	}
	return r.cfg.Log.ReadAll(ctx, after, limit)
}

// chunk is one read of the log, handed from the reader to the writer.
type chunk struct {
	events []domain.Event
	err    error
}

// rebuildTo applies the log after version's checkpoint into version, up to
// until (nil: as far as the log goes), RebuildBatch events per transaction.
// Reading runs one batch ahead of applying, so the two overlap.
func (r *Runner) rebuildTo(ctx context.Context, st *projState, version int, until *domain.Cursor, report func(int, domain.Cursor)) error {
	name := st.p.Name()
	from, err := r.checkpoint(ctx, name, version)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan chunk, 2)
	go r.readAhead(ctx, from, until, chunks)
	at := from
	for c := range chunks {
		if c.err != nil {
			return fmt.Errorf("rebuild projection %s v%d: %w", name, version, c.err)
		}
		if err := r.applyRebuildChunk(ctx, st, version, at, c.events); err != nil {
			return err
		}
		at = c.events[len(c.events)-1].Cursor()
		report(len(c.events), at)
	}
	return ctx.Err()
}

// readAhead reads the log after `after` up to until into out, closing it
// at the end (or after sending an error).
func (r *Runner) readAhead(ctx context.Context, after domain.Cursor, until *domain.Cursor, out chan<- chunk) {
	defer close(out)
	for {
		events, err := r.readLog(ctx, after, r.cfg.RebuildBatch)
		if err != nil {
			err = fmt.Errorf("read log after %s: %w", after, err)
		}
		full := len(events) == r.cfg.RebuildBatch
		if until != nil {
			n := 0
			for n < len(events) && !until.Less(events[n].Cursor()) {
				n++
			}
			full = full && n == len(events)
			events = events[:n]
		}
		if err == nil && len(events) == 0 {
			return
		}
		select {
		case out <- chunk{events: events, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil || !full {
			return
		}
		after = events[len(events)-1].Cursor()
	}
}

// applyRebuildChunk applies events into version in one transaction,
// provided the version's checkpoint is still `at` (another rebuild of the
// same version would have moved it).
func (r *Runner) applyRebuildChunk(ctx context.Context, st *projState, version int, at domain.Cursor, events []domain.Event) error {
	name := st.p.Name()
	tx, err := r.cfg.Store.BeginVersion(ctx, name, version)
	if err != nil {
		return fmt.Errorf("begin projection %s v%d: %w", name, version, err)
	}
	defer rollback(ctx, tx, r.log)
	cp, err := tx.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("checkpoint of projection %s v%d: %w", name, version, err)
	}
	if cp != at {
		return fmt.Errorf("rebuild projection %s v%d: checkpoint moved from %s to %s (another rebuild running?)", name, version, at, cp)
	}
	if _, err := r.applyEvents(ctx, st, tx, events, false); err != nil {
		return err
	}
	to := events[len(events)-1].Cursor()
	if err := tx.SetCheckpoint(ctx, to); err != nil {
		return fmt.Errorf("set checkpoint of projection %s v%d to %s: %w", name, version, to, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit projection %s v%d at %s: %w", name, version, to, err)
	}
	return nil
}
