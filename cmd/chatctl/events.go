package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
)

// exportedEvent is one JSON line of an export: the log row's own fields,
// data and metadata byte for byte as they were hashed, so an export can be
// verified offline.
type exportedEvent struct {
	Position   int64           `json:"position"`
	TxID       uint64          `json:"transaction_id"`
	ID         string          `json:"event_id"`
	Stream     string          `json:"stream"`
	Version    int64           `json:"version"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	Metadata   json.RawMessage `json:"metadata"`
	RecordedAt string          `json:"recorded_at"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

func exported(e *domain.Event) exportedEvent {
	return exportedEvent{Position: e.Position, TxID: e.TxID, ID: e.ID.String(), Stream: e.Stream, Version: e.Version,
		Type: e.Type, Data: e.Data, Metadata: e.Metadata, RecordedAt: projections.FormatTime(e.RecordedAt),
		PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)}
}

// logFilter selects events of an export or tail.
type logFilter struct {
	after        int64
	stream       string
	since, until time.Time
	follow       bool // tail -f
	last         int  // tail -n: only the last n events before following; 0 all
}

func (f logFilter) keep(e *domain.Event) bool {
	return e.Position > f.after && (f.stream == "" || e.Stream == f.stream) &&
		(f.since.IsZero() || !e.RecordedAt.Before(f.since)) && (f.until.IsZero() || e.RecordedAt.Before(f.until))
}

func parseLogFilter(name string, args []string) (logFilter, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f logFilter
	var since, until string
	fs.Int64Var(&f.after, "after", 0, "only events after this position")
	fs.StringVar(&f.stream, "stream", "", "only this stream")
	fs.StringVar(&since, "since", "", "only events recorded at or after this time (RFC 3339)")
	fs.StringVar(&until, "until", "", "only events recorded before this time (RFC 3339)")
	if name == "events tail" {
		fs.BoolVar(&f.follow, "f", false, "keep following the log")
		fs.IntVar(&f.last, "n", 10, "print only the last n events of the log so far (0: all)")
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || f.last < 0 {
		return f, errUsage
	}
	var err error
	if since != "" {
		if f.since, err = time.Parse(time.RFC3339Nano, since); err != nil {
			return f, fmt.Errorf("--since: %w", err)
		}
	}
	if until != "" {
		if f.until, err = time.Parse(time.RFC3339Nano, until); err != nil {
			return f, fmt.Errorf("--until: %w", err)
		}
	}
	return f, nil
}

func (t *tool) events(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	f, err := parseLogFilter("events "+args[0], args[1:])
	if err != nil {
		return err
	}
	if args[0] != "export" && args[0] != "tail" {
		return errUsage
	}
	return t.readLog(ctx, f)
}

// readLog writes the log as JSON Lines in commit order, a page at a time
// (constant memory however long the log): all of it, or with f.last only
// the last events (kept in a ring while the log is read to its end); follow
// keeps polling for new events until interrupted.
func (t *tool) readLog(ctx context.Context, f logFilter) error {
	out := bufio.NewWriterSize(t.out, 64<<10)
	defer out.Flush()
	enc := json.NewEncoder(out)
	write := func(e *domain.Event) error {
		if err := enc.Encode(exported(e)); err != nil {
			return fmt.Errorf("write event: %w", err)
		}
		return nil
	}
	cursor, err := t.startCursor(ctx, f.after)
	if err != nil {
		return err
	}
	if f.last > 0 {
		ring, n := make([]domain.Event, f.last), 0 // n: events seen; the oldest kept is at n % last
		cursor, err = t.readPages(ctx, cursor, f, func(e *domain.Event) error {
			ring[n%f.last] = *e
			n++
			return nil
		})
		if err != nil {
			return err
		}
		for i := max(0, n-f.last); i < n; i++ {
			if err := write(&ring[i%f.last]); err != nil {
				return err
			}
		}
	}
	for {
		if cursor, err = t.readPages(ctx, cursor, f, write); err != nil || !f.follow {
			return err
		}
		if err := out.Flush(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// startCursor is the commit-order cursor to read after for --after.
func (t *tool) startCursor(ctx context.Context, after int64) (domain.Cursor, error) {
	if after <= 0 {
		return domain.Cursor{}, nil
	}
	c, ok, err := t.p.DB.CursorAt(ctx, after)
	if err != nil || !ok { // no such event: read from the start; keep() drops positions ≤ after
		return domain.Cursor{}, err
	}
	return c, nil
}

// readPages calls fn with every kept event after cursor up to the log's
// visible end and returns the cursor of the last event read.
func (t *tool) readPages(ctx context.Context, cursor domain.Cursor, f logFilter, fn func(*domain.Event) error) (domain.Cursor, error) {
	const page = 1000
	for {
		events, err := t.p.DB.ReadAll(ctx, cursor, page)
		if err != nil {
			return cursor, err
		}
		for i := range events {
			if f.keep(&events[i]) {
				if err := fn(&events[i]); err != nil {
					return cursor, err
				}
			}
		}
		if len(events) > 0 {
			cursor = events[len(events)-1].Cursor()
		}
		if len(events) < page {
			return cursor, nil
		}
	}
}
