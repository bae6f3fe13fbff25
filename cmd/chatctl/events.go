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
	fs.BoolVar(&f.follow, "f", false, "keep following the log (tail)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
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
	switch {
	case args[0] == "export" && !f.follow:
		return t.readLog(ctx, f)
	case args[0] == "tail":
		return t.readLog(ctx, f)
	}
	return errUsage
}

// readLog writes the log as JSON Lines in commit order, a page at a time
// (constant memory however long the log); follow keeps polling for new
// events until interrupted.
func (t *tool) readLog(ctx context.Context, f logFilter) error {
	out := bufio.NewWriterSize(t.out, 64<<10)
	defer out.Flush()
	enc := json.NewEncoder(out)
	var cursor domain.Cursor
	if f.after > 0 {
		c, ok, err := t.p.DB.CursorAt(ctx, f.after)
		if err != nil {
			return err
		}
		if ok { // else read from the start; keep() still drops positions ≤ after
			cursor = c
		}
	}
	for {
		page, err := t.p.DB.ReadAll(ctx, cursor, 1000)
		if err != nil {
			return err
		}
		for i := range page {
			if f.keep(&page[i]) {
				if err := enc.Encode(exported(&page[i])); err != nil {
					return fmt.Errorf("write event: %w", err)
				}
			}
		}
		if len(page) > 0 {
			cursor = page[len(page)-1].Cursor()
		}
		if len(page) == 1000 {
			continue
		}
		if !f.follow {
			return nil
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
