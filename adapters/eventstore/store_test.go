package eventstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// lockBackend is a backend of two writers that records, instead of data,
// which streams each open transaction has locked and how often a
// transaction asked for a stream another open one held: on PostgreSQL that
// transaction would wait for the other's commit.
type lockBackend struct {
	Reader // unused: the test only appends

	mu        sync.Mutex
	held      map[string]*lockTx
	conflicts int
	txs       int
}

func (b *lockBackend) Writers() int { return 2 }

func (b *lockBackend) Begin(context.Context) (Tx, error) {
	b.mu.Lock()
	b.txs++
	b.mu.Unlock()
	return &lockTx{b: b}, nil
}

type lockTx struct {
	b      *lockBackend
	locked []string
	pos    int64
}

func (t *lockTx) LockStreams(_ context.Context, streams []string) (map[string]Head, error) {
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	for _, s := range streams {
		if other, ok := t.b.held[s]; ok && other != t {
			t.b.conflicts++
		}
		t.b.held[s] = t
	}
	t.locked = append(t.locked, streams...)
	return map[string]Head{}, nil
}

func (t *lockTx) FindIdempotent(context.Context, string, string) (*domain.Event, error) {
	return nil, nil
}

func (t *lockTx) LoadState(context.Context, []string) (map[string][]byte, error) {
	return map[string][]byte{}, nil
}

func (t *lockTx) SaveState(context.Context, []string, [][]byte) error { return nil }

func (t *lockTx) Insert(_ context.Context, events []domain.Event, _ []string) error {
	for i := range events {
		t.pos++
		events[i].Position = t.pos
	}
	return nil
}

func (t *lockTx) SetHeads(context.Context, map[string]Head) error { return nil }
func (t *lockTx) PutSecret(context.Context, domain.Secret) error  { return nil }
func (t *lockTx) RevokeSession(context.Context, uuid.UUID) error  { return nil }
func (t *lockTx) Rollback(context.Context) error                  { return t.release() }
func (t *lockTx) Commit(context.Context) error                    { time.Sleep(time.Millisecond); return t.release() }
func (t *lockTx) release() error {
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	for _, s := range t.locked {
		if t.b.held[s] == t {
			delete(t.b.held, s)
		}
	}
	t.locked = nil
	return nil
}

// Two writers each take a batch at the same time; when both batches held
// the same busy rooms, the second transaction waited on the first's stream
// locks, and the two wrote one after the other. Commands of one stream
// must meet in one writer.
func TestWritersDoNotShareStreams(t *testing.T) {
	b := &lockBackend{held: map[string]*lockTx{}}
	s, err := New(Config{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := range 20 {
				stream := fmt.Sprintf("room-%d", (g+i)%8)
				ev := domain.NewEvent{Stream: stream, ExpectedVersion: domain.AnyVersion,
					Payload: &domain.NodeStarted{Node: "n"}}
				if _, err := s.Append(context.Background(), domain.Metadata{Node: "test"}, ev); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.txs < 4 {
		t.Fatalf("%d transactions for 1,280 appends: the writers never ran side by side", b.txs)
	}
	if b.conflicts > 0 {
		t.Errorf("%d times a transaction locked a stream another open transaction held (of %d transactions)", b.conflicts, b.txs)
	}
}
