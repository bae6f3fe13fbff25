package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// errNotIntact makes chatctl exit non-zero after printing the finding.
var errNotIntact = errors.New("the log is NOT intact")

// verify recomputes every hash chain, from the store or, with --file, from
// an export held offline (no database needed).
func (t *tool) verify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("file", "", "verify this JSON Lines export instead of the store")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return errUsage
	}
	var rep eventstore.VerifyReport
	var err error
	if *file != "" {
		rep, err = verifyFile(*file)
	} else {
		rep, err = eventstore.Verify(ctx, t.p.DB)
	}
	if err != nil {
		return err
	}
	return t.printVerify(rep)
}

func (t *tool) printVerify(rep eventstore.VerifyReport) error {
	fmt.Fprintf(t.out, "events checked: %d\nstreams checked: %d\n", rep.Events, rep.Streams)
	if rep.Bad != nil {
		fmt.Fprintf(t.out, "first bad event: %s version %d (%s)\n", rep.Bad.Stream, rep.Bad.Version, rep.Bad.Reason)
		return errNotIntact
	}
	fmt.Fprintln(t.out, "intact")
	return nil
}

// verifyFile checks an export line by line. A stream whose first exported
// event is not version 1 (a filtered export) is checked from there on,
// trusting that event's prev_hash.
func verifyFile(path string) (eventstore.VerifyReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return eventstore.VerifyReport{}, fmt.Errorf("open export: %w", err)
	}
	defer f.Close()
	var rep eventstore.VerifyReport
	type tip struct {
		version int64
		hash    []byte
	}
	tips := map[string]tip{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		e, err := importEvent(sc.Bytes())
		if err != nil {
			return rep, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		t, seen := tips[e.Stream]
		if !seen {
			rep.Streams++
			t = tip{version: e.Version - 1, hash: e.PrevHash}
			if e.Version == 1 {
				t.hash = domain.ZeroHash
			}
		}
		rep.Events++
		reason := ""
		switch {
		case e.Version != t.version+1:
			reason = fmt.Sprintf("version follows %d", t.version)
		case !bytes.Equal(e.PrevHash, t.hash):
			reason = "prev_hash is not the previous event's hash"
		case !e.VerifyHash(t.hash):
			reason = "hash does not match the recorded fields"
		}
		if reason != "" {
			rep.Bad = &eventstore.BadEvent{Stream: e.Stream, Version: e.Version, Reason: reason}
			return rep, nil
		}
		tips[e.Stream] = tip{version: e.Version, hash: e.Hash}
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("read %s: %w", path, err)
	}
	return rep, nil
}

// importEvent reads one exported line back into the event it was.
func importEvent(line []byte) (domain.Event, error) {
	var x exportedEvent
	if err := json.Unmarshal(line, &x); err != nil {
		return domain.Event{}, err
	}
	e := domain.Event{Position: x.Position, TxID: x.TxID, Stream: x.Stream, Version: x.Version, Type: x.Type,
		Data: x.Data, Metadata: x.Metadata}
	var err error
	if e.ID, err = uuid.Parse(x.ID); err != nil {
		return e, fmt.Errorf("event_id: %w", err)
	}
	if e.RecordedAt, err = time.Parse(time.RFC3339Nano, x.RecordedAt); err != nil {
		return e, fmt.Errorf("recorded_at: %w", err)
	}
	e.RecordedAt = e.RecordedAt.UTC()
	if e.PrevHash, err = hex.DecodeString(x.PrevHash); err != nil {
		return e, fmt.Errorf("prev_hash: %w", err)
	}
	if e.Hash, err = hex.DecodeString(x.Hash); err != nil {
		return e, fmt.Errorf("hash: %w", err)
	}
	return e, nil
}
