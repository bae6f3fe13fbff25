// Package storetest is the contract every eventstore.Backend must pass: one
// test body run against PostgreSQL and SQLite, so both stores keep the same
// promises (optimistic concurrency, idempotency, hash chains, commit-safe
// tailing, an immutable log, tamper evidence, draining on close).
//
// An adapter's test calls Run with a Harness that opens a fresh, empty
// backend per subtest and knows how to tamper with its rows.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// Harness adapts one backend to the suite.
type Harness struct {
	// New returns a fresh, empty backend, closed by the test's cleanup.
	New func(t *testing.T) eventstore.Backend
	// Tamper changes the data of stream@version behind the log's
	// protections (as a superuser or someone holding the file would), so
	// only the hash chain can tell.
	Tamper func(t *testing.T, b eventstore.Backend, stream string, version int64)
	// Mutate tries an UPDATE, a DELETE and a TRUNCATE (or its nearest
	// equivalent) of the log through the ordinary connection, returning
	// each statement's error.
	Mutate func(b eventstore.Backend) (update, del, truncate error)
	// Cut deletes stream's events from version on, behind the log's
	// protections: version 1 removes the stream, a later one rewinds it.
	// Every hash chain left still holds; only a seal can tell.
	Cut func(t *testing.T, b eventstore.Backend, stream string, fromVersion int64)
	// SingleWriter is set for backends that run one write transaction at a
	// time (Begin blocks while another is open).
	SingleWriter bool
}

// Run runs the whole contract against h.
func Run(t *testing.T, h Harness) {
	t.Run("AppendAndRead", func(t *testing.T) { testAppendAndRead(t, h) })
	t.Run("ExpectedVersion", func(t *testing.T) { testExpectedVersion(t, h) })
	t.Run("WrongVersionAppendsNothing", func(t *testing.T) { testWrongVersionAppendsNothing(t, h) })
	t.Run("RacingAppenders", func(t *testing.T) { testRacingAppenders(t, h) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, h) })
	t.Run("HashChain", func(t *testing.T) { testHashChain(t, h) })
	t.Run("FirstAdmin", func(t *testing.T) { testFirstAdmin(t, h) })
	t.Run("UsernameConflict", func(t *testing.T) { testUsernameConflict(t, h) })
	t.Run("IdempotentPost", func(t *testing.T) { testIdempotentPost(t, h) })
	t.Run("MessageRules", func(t *testing.T) { testMessageRules(t, h) })
	t.Run("StreamOrderInLog", func(t *testing.T) { testStreamOrderInLog(t, h) })
	t.Run("CommitSafeTailing", func(t *testing.T) { testCommitSafeTailing(t, h) })
	t.Run("Immutable", func(t *testing.T) { testImmutable(t, h) })
	t.Run("VerifyFindsTamper", func(t *testing.T) { testVerifyFindsTamper(t, h) })
	t.Run("SealFindsRemovedStream", func(t *testing.T) { testSealFindsCut(t, h, 1) })
	t.Run("SealFindsRewoundStream", func(t *testing.T) { testSealFindsCut(t, h, 3) })
	t.Run("CloseDrains", func(t *testing.T) { testCloseDrains(t, h) })
}

// NewStore runs an eventstore.Store over b until the test ends.
func NewStore(tb testing.TB, b eventstore.Backend) *eventstore.Store {
	tb.Helper()
	s, err := eventstore.New(eventstore.Config{Backend: b})
	if err != nil {
		tb.Fatalf("new store: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Node is a raw event on stream: NodeStarted carries a free-form name, so
// tests can tell events apart by their data.
func Node(stream string, expected int64, name string) domain.NewEvent {
	return domain.NewEvent{Stream: stream, ExpectedVersion: expected, Payload: &domain.NodeStarted{Node: name}}
}

var testMeta = domain.Metadata{Node: "storetest"}

// MustAppend appends events and fails the test on error.
func MustAppend(tb testing.TB, s *eventstore.Store, events ...domain.NewEvent) []domain.Event {
	tb.Helper()
	got, err := s.Append(context.Background(), testMeta, events...)
	if err != nil {
		tb.Fatalf("append: %v", err)
	}
	return got
}

// MustReadAll reads the whole visible log in commit order.
func MustReadAll(tb testing.TB, r eventstore.Reader) []domain.Event {
	tb.Helper()
	// The log is read commit-safely: on PostgreSQL it stops below any
	// transaction open anywhere in the cluster (other tests' databases
	// too), so wait until it shows every event the stream heads count.
	heads, err := r.Heads(context.Background())
	if err != nil {
		tb.Fatalf("heads: %v", err)
	}
	want := 0
	for _, h := range heads {
		want += int(h.Version)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		all := readAllOnce(tb, r)
		if len(all) >= want || time.Now().After(deadline) {
			return all
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readAllOnce(tb testing.TB, r eventstore.Reader) []domain.Event {
	tb.Helper()
	var all []domain.Event
	var after domain.Cursor
	for {
		page, err := r.ReadAll(context.Background(), after, 500)
		if err != nil {
			tb.Fatalf("read all after %s: %v", after, err)
		}
		all = append(all, page...)
		if len(page) < 500 {
			return all
		}
		after = page[len(page)-1].Cursor()
	}
}

// MustReadStream reads stream after version.
func MustReadStream(tb testing.TB, r eventstore.Reader, stream string, after int64) []domain.Event {
	tb.Helper()
	events, err := r.ReadStream(context.Background(), stream, after, 10_000)
	if err != nil {
		tb.Fatalf("read %s after %d: %v", stream, after, err)
	}
	return events
}

// wantCode fails unless err carries code.
func wantCode(tb testing.TB, err error, code domain.Code) {
	tb.Helper()
	if got := domain.ErrorCode(err); got != code {
		tb.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

// checkChain verifies that events (one stream, from version 1) chain.
func checkChain(tb testing.TB, events []domain.Event) {
	tb.Helper()
	prev := domain.ZeroHash
	for i, e := range events {
		if e.Version != int64(i+1) {
			tb.Fatalf("%s event %d has version %d", e.Stream, i, e.Version)
		}
		if !e.VerifyHash(prev) {
			tb.Fatalf("%s@%d does not verify against its predecessor", e.Stream, e.Version)
		}
		prev = e.Hash
	}
}

// rawEvent builds a fully formed event following head, as the write path
// would, for tests that drive a backend Tx directly.
func rawEvent(stream string, head eventstore.Head, name string) (domain.Event, error) {
	data, err := domain.EncodePayload(&domain.NodeStarted{Node: name})
	if err != nil {
		return domain.Event{}, fmt.Errorf("encode: %w", err)
	}
	prev := head.Hash
	if len(prev) == 0 {
		prev = domain.ZeroHash
	}
	e := domain.Event{ID: uuid.New(), Stream: stream, Version: head.Version + 1, Type: "NodeStarted",
		Data: data, Metadata: []byte(`{"node":"storetest"}`), RecordedAt: time.Now().UTC().Truncate(time.Millisecond),
		PrevHash: prev}
	e.Hash = domain.ChainHash(prev, e.Stream, e.Version, e.Type, e.Data, e.Metadata, e.RecordedAt)
	return e, nil
}

// appendDirect appends n events to stream in one backend transaction,
// holding it open for hold before committing.
func appendDirect(ctx context.Context, b eventstore.Backend, stream string, n int, hold time.Duration) (err error) {
	tx, err := b.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback(ctx))
		}
	}()
	heads, err := tx.LockStreams(ctx, []string{stream})
	if err != nil {
		return fmt.Errorf("lock %s: %w", stream, err)
	}
	head := heads[stream]
	events := make([]domain.Event, n)
	for i := range events {
		if events[i], err = rawEvent(stream, head, fmt.Sprintf("%s-%d", stream, head.Version+1)); err != nil {
			return err
		}
		head = eventstore.Head{Version: events[i].Version, Hash: events[i].Hash}
	}
	if err := tx.Insert(ctx, events, make([]string, n)); err != nil {
		return fmt.Errorf("insert into %s: %w", stream, err)
	}
	if err := tx.SetHeads(ctx, map[string]eventstore.Head{stream: head}); err != nil {
		return fmt.Errorf("set head of %s: %w", stream, err)
	}
	time.Sleep(hold)
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit %s: %w", stream, err)
	}
	return nil
}
