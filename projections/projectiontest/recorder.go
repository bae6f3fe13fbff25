package projectiontest

import (
	"context"
	"fmt"
	"sync"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
)

// Recorder is a projection that records the position of every event it
// applies (through a *Tx of this package) and returns one update per event
// with Seq = position, so a test can check "every event exactly once, in
// order" both in the read model and in what was published.
type Recorder struct {
	ProjName string
	V        int
	// Fail, when set, is asked for every event; an error fails the batch.
	Fail func(e *domain.Event) error
}

func (r *Recorder) Name() string { return r.ProjName }
func (r *Recorder) Version() int { return r.V }

func (r *Recorder) Apply(_ context.Context, tx projections.Tx, e *domain.Event, _ domain.Payload) ([]projections.Update, error) {
	if r.Fail != nil {
		if err := r.Fail(e); err != nil {
			return nil, err
		}
	}
	t, ok := tx.(*Tx)
	if !ok {
		return nil, fmt.Errorf("recorder needs a projectiontest.Tx, got %T", tx)
	}
	t.Record(e.Position)
	return []projections.Update{{Kind: projections.UpdateRoomEvent, Seq: e.Position}}, nil
}

// FailOnce returns a Fail func that fails the first time it sees position.
func FailOnce(position int64) func(e *domain.Event) error {
	var once sync.Once
	return func(e *domain.Event) error {
		var err error
		if e.Position == position {
			once.Do(func() { err = fmt.Errorf("injected failure at position %d", position) })
		}
		return err
	}
}

// Updates is an UpdatePublisher that keeps what it was given.
type Updates struct {
	mu   sync.Mutex
	seqs []int64
	// Fail, when set, fails every publish.
	Fail error
}

func (u *Updates) PublishUpdates(_ context.Context, updates []projections.Update) error {
	if u.Fail != nil {
		return u.Fail
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, up := range updates {
		u.seqs = append(u.seqs, up.Seq)
	}
	return nil
}

// Seqs returns the Seq of every update published, in order.
func (u *Updates) Seqs() []int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]int64(nil), u.seqs...)
}
