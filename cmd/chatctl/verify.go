package main

import (
	"bufio"
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
	switch {
	case rep.Seal == nil:
		fmt.Fprintln(t.out, "seal: none yet (removed or rewound streams cannot be detected)")
	case rep.Seal.OK:
		fmt.Fprintf(t.out, "seal: #%d over %d streams matches\n", rep.Seal.Version, rep.Seal.Streams)
	}
	if rep.Bad != nil {
		fmt.Fprintf(t.out, "first bad event: %s version %d (%s)\n", rep.Bad.Stream, rep.Bad.Version, rep.Bad.Reason)
		return errNotIntact
	}
	fmt.Fprintln(t.out, "intact")
	return nil
}

// verifyFile checks an export: every hash chain, and the latest seal it
// holds against the streams. A filtered export (--stream, --after) holds
// partial chains and is checked from each stream's first exported event,
// trusting its prev_hash, without the seal check.
func verifyFile(path string) (eventstore.VerifyReport, error) {
	var seal *domain.LogSealed
	var sealVersion int64
	seen, partial := map[string]bool{}, false
	err := eachExported(path, func(e *domain.Event) bool {
		if !seen[e.Stream] {
			seen[e.Stream], partial = true, partial || e.Version > 1
		}
		if e.Stream == domain.SealStream && e.Version > sealVersion {
			if p, err := e.Decode(); err == nil {
				if s, ok := p.(*domain.LogSealed); ok {
					seal, sealVersion = s, e.Version
				}
			}
		}
		return true
	})
	if err != nil {
		return eventstore.VerifyReport{}, err
	}
	if partial {
		seal = nil // a filtered export lacks streams the seal covers
	}
	v := eventstore.NewChainVerifier(seal, sealVersion)
	first := map[string]bool{}
	err = eachExported(path, func(e *domain.Event) bool {
		if !first[e.Stream] && e.Version > 1 {
			v.Anchor(e.Stream, e.Version-1, e.PrevHash)
		}
		first[e.Stream] = true
		return v.Feed(e)
	})
	return v.Report(), err
}

// eachExported calls fn with every event of an export until fn says stop.
func eachExported(path string, fn func(e *domain.Event) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open export: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		e, err := importEvent(sc.Bytes())
		if err != nil {
			return fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if !fn(&e) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
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
