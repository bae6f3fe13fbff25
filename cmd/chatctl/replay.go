package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// replay shows a room as it was at a moment, folded from its stream in the
// log alone: no read model is consulted, so it holds even if one is wrong.
func (t *tool) replay(ctx context.Context, args []string) error {
	if len(args) < 2 || args[0] != "room" {
		return errUsage
	}
	room, err := uuid.Parse(args[1])
	if err != nil {
		return fmt.Errorf("room id: %w", err)
	}
	fs := flag.NewFlagSet("replay room", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	atFlag := fs.String("at", "", "the moment (RFC 3339); default now")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[2:]); err != nil || fs.NArg() != 0 {
		return errUsage
	}
	at := time.Now().UTC()
	if *atFlag != "" {
		if at, err = time.Parse(time.RFC3339Nano, *atFlag); err != nil {
			return fmt.Errorf("--at: %w", err)
		}
	}
	events, err := t.readStream(ctx, domain.RoomStream(room))
	if err != nil {
		return err
	}
	snap, err := projections.Replay(room, events, at.UTC())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(t.out)
		enc.SetIndent("", "  ")
		return enc.Encode(snap)
	}
	_, err = fmt.Fprint(t.out, snap.String())
	return err
}

// readStream reads a whole stream in version order.
func (t *tool) readStream(ctx context.Context, stream string) ([]domain.Event, error) {
	var all []domain.Event
	for {
		page, err := t.p.DB.ReadStream(ctx, stream, int64(len(all)), 1000)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < 1000 {
			return all, nil
		}
	}
}
