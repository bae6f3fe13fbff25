package projectiontest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// Log is an in-memory event log with what a relay needs beside reading:
// a relay checkpoint, commit wake-ups and a leadership lock per name.
type Log struct {
	mu      sync.Mutex
	events  []domain.Event
	nextTx  uint64
	relay   domain.Cursor
	wakers  []chan struct{}
	leaders map[string]*lease
	free    chan struct{} // closed and replaced whenever a lease is released
	// heldFrom >= 0 hides the events from that index on (HoldHorizon).
	heldFrom int
}

type lease struct {
	lost chan struct{}
}

// NewLog returns an empty log.
func NewLog() *Log {
	return &Log{nextTx: 100, leaders: make(map[string]*lease), free: make(chan struct{}), heldFrom: -1}
}

// HoldHorizon hides the events appended from now on from reads, as
// PostgreSQL's commit-safe reads hide events committed behind a
// transaction still running, until ReleaseHorizon. Appends still wake
// tailers; the release, like the end of that transaction, wakes nobody.
func (l *Log) HoldHorizon() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.heldFrom < 0 {
		l.heldFrom = len(l.events)
	}
}

// ReleaseHorizon shows the events HoldHorizon hid.
func (l *Log) ReleaseHorizon() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.heldFrom = -1
}

// Append records payloads as one transaction and wakes tailers.
func (l *Log) Append(payloads ...domain.Payload) []domain.Event {
	l.mu.Lock()
	l.nextTx++
	added := make([]domain.Event, 0, len(payloads))
	for _, p := range payloads {
		data, err := json.Marshal(p)
		if err != nil {
			panic(fmt.Sprintf("projectiontest: encode %T: %v", p, err))
		}
		added = append(added, l.addLocked(p.EventType(), data))
	}
	l.wakeLocked()
	l.mu.Unlock()
	return added
}

// AppendN appends n NodeStarted events, perTx events per transaction.
func (l *Log) AppendN(n, perTx int) {
	for n > 0 {
		k := min(n, perTx)
		ps := make([]domain.Payload, k)
		for i := range ps {
			ps[i] = &domain.NodeStarted{Node: "n"}
		}
		l.Append(ps...)
		n -= k
	}
}

// AppendRaw records an event with any type and data, e.g. an unknown type
// or a corrupt payload.
func (l *Log) AppendRaw(typ string, data []byte) domain.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nextTx++
	e := l.addLocked(typ, data)
	l.wakeLocked()
	return e
}

func (l *Log) addLocked(typ string, data []byte) domain.Event {
	pos := int64(len(l.events)) + 1
	e := domain.Event{
		Position: pos, TxID: l.nextTx, ID: uuid.New(), Stream: "node-n", Version: pos, Type: typ,
		Data: data, Metadata: json.RawMessage(`{}`), RecordedAt: time.Now().UTC().Truncate(time.Millisecond),
		PrevHash: []byte{1, 2}, Hash: []byte{3, 4, byte(pos)},
	}
	l.events = append(l.events, e)
	return e
}

func (l *Log) wakeLocked() {
	for _, w := range l.wakers {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// Positions returns every position in the log, in commit order.
func (l *Log) Positions() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int64, len(l.events))
	for i, e := range l.events {
		out[i] = e.Position
	}
	return out
}

// ReadAll returns up to limit events after cursor.
func (l *Log) ReadAll(ctx context.Context, after domain.Cursor, limit int) ([]domain.Event, error) {
	events, _, err := l.ReadAllHeld(ctx, after, limit)
	return events, err
}

// ReadAllHeld is ReadAll, and whether HoldHorizon hides events after
// cursor.
func (l *Log) ReadAllHeld(ctx context.Context, after domain.Cursor, limit int) ([]domain.Event, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("read log: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	visible := l.events
	if l.heldFrom >= 0 {
		visible = l.events[:l.heldFrom]
	}
	i, _ := slices.BinarySearchFunc(l.events, after, func(e domain.Event, c domain.Cursor) int {
		switch ec := e.Cursor(); {
		case ec.Less(c):
			return -1
		case ec == c:
			return 0
		}
		return 1
	})
	if i < len(l.events) && l.events[i].Cursor() == after {
		i++
	}
	held := len(visible) < len(l.events) && i < len(l.events)
	i = min(i, len(visible))
	end := min(i+limit, len(visible))
	return slices.Clone(visible[i:end]), held, nil
}

// LogHead returns the cursor of the last event.
func (l *Log) LogHead(context.Context) (domain.Cursor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 {
		return domain.Cursor{}, nil
	}
	return l.events[len(l.events)-1].Cursor(), nil
}

func (l *Log) LoadRelayCheckpoint(context.Context) (domain.Cursor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.relay, nil
}

func (l *Log) SaveRelayCheckpoint(_ context.Context, c domain.Cursor) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.relay = c
	return nil
}

// Wakeups signals (coalesced) after every append until ctx ends.
func (l *Log) Wakeups(ctx context.Context) <-chan struct{} {
	w := make(chan struct{}, 1)
	l.mu.Lock()
	l.wakers = append(l.wakers, w)
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.wakers = slices.DeleteFunc(l.wakers, func(c chan struct{}) bool { return c == w })
	})
	return w
}

// AcquireLeadership waits until nobody holds name, then holds it until
// release or RevokeLeadership.
func (l *Log) AcquireLeadership(ctx context.Context, name string) (<-chan struct{}, func(), error) {
	for {
		l.mu.Lock()
		if l.leaders[name] == nil {
			ls := &lease{lost: make(chan struct{})}
			l.leaders[name] = ls
			l.mu.Unlock()
			var once sync.Once
			return ls.lost, func() { once.Do(func() { l.drop(name, ls) }) }, nil
		}
		free := l.free
		l.mu.Unlock()
		select {
		case <-free:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("acquire leadership %s: %w", name, ctx.Err())
		}
	}
}

// RevokeLeadership takes name from its holder, as a dropped database
// session would: its lost channel closes.
func (l *Log) RevokeLeadership(name string) {
	l.mu.Lock()
	ls := l.leaders[name]
	l.mu.Unlock()
	if ls != nil {
		l.drop(name, ls)
	}
}

func (l *Log) drop(name string, ls *lease) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leaders[name] != ls {
		return
	}
	delete(l.leaders, name)
	close(ls.lost)
	close(l.free)
	l.free = make(chan struct{})
}
