// Package projectiontest holds in-memory doubles for testing code that runs
// projections: a projections.Store, a log (LogReader plus what the relay
// needs) and a Recorder projection that remembers every event it applied.
// They are single-process only and keep everything in memory.
//
// It must never be imported by production code.
package projectiontest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// Store is an in-memory projections.Store. Each projection version holds a
// checkpoint, the positions a Recorder applied, and the writer calls made
// through its transactions (as text), all changed only by Commit.
type Store struct {
	mu    sync.Mutex
	projs map[string]*proj

	// FailCommit, when set, is asked before each commit; an error fails it.
	FailCommit func(name string, version int) error
}

type proj struct {
	serving  int
	versions map[int]*version
}

type version struct {
	lock       chan struct{} // one token: the checkpoint row lock
	checkpoint domain.Cursor
	recorded   []int64
	calls      []string
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{projs: make(map[string]*proj)} }

var _ projections.Store = (*Store)(nil)

// Prepare creates name@v if missing; the first version becomes serving.
func (s *Store) Prepare(_ context.Context, name string, v int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projs[name]
	if !ok {
		p = &proj{serving: v, versions: make(map[int]*version)}
		s.projs[name] = p
	}
	if _, ok := p.versions[v]; !ok {
		p.versions[v] = &version{lock: make(chan struct{}, 1)}
	}
	return nil
}

// Versions returns the serving version and all prepared ones.
func (s *Store) Versions(_ context.Context, name string) (int, []int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projs[name]
	if !ok {
		return 0, nil, nil
	}
	all := make([]int, 0, len(p.versions))
	for v := range p.versions {
		all = append(all, v)
	}
	slices.Sort(all)
	return p.serving, all, nil
}

// Activate switches reads to v and drops the others, if their checkpoints
// are equal.
func (s *Store) Activate(ctx context.Context, name string, v int) error {
	s.mu.Lock()
	p, ok := s.projs[name]
	s.mu.Unlock()
	if !ok || p.versions[v] == nil {
		return fmt.Errorf("activate %s v%d: %w", name, v, projections.ErrNoProjection)
	}
	s.mu.Lock()
	cur, next := p.versions[p.serving], p.versions[v]
	s.mu.Unlock()
	// Lock both checkpoint rows, as a database would, so no batch lands
	// between the comparison and the switch.
	for _, ver := range uniq(cur, next) {
		if err := acquire(ctx, ver.lock); err != nil {
			return err
		}
		defer func() { <-ver.lock }()
	}
	if cur.checkpoint != next.checkpoint {
		return fmt.Errorf("activate %s v%d: checkpoint %s differs from serving v%d at %s",
			name, v, next.checkpoint, p.serving, cur.checkpoint)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p.serving = v
	for other := range p.versions {
		if other != v {
			delete(p.versions, other)
		}
	}
	return nil
}

func uniq(a, b *version) []*version {
	if a == b {
		return []*version{a}
	}
	return []*version{a, b}
}

func acquire(ctx context.Context, lock chan struct{}) error {
	select {
	case lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("lock checkpoint: %w", ctx.Err())
	}
}

// Begin opens a transaction on the serving version.
func (s *Store) Begin(ctx context.Context, name string) (projections.Tx, error) {
	s.mu.Lock()
	p, ok := s.projs[name]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("begin %s: %w", name, projections.ErrNoProjection)
	}
	s.mu.Lock()
	v := p.serving
	s.mu.Unlock()
	return s.BeginVersion(ctx, name, v)
}

// BeginVersion opens a transaction on name@v, waiting for its lock.
func (s *Store) BeginVersion(ctx context.Context, name string, v int) (projections.Tx, error) {
	s.mu.Lock()
	var ver *version
	if p, ok := s.projs[name]; ok {
		ver = p.versions[v]
	}
	s.mu.Unlock()
	if ver == nil {
		return nil, fmt.Errorf("begin %s v%d: %w", name, v, projections.ErrNoProjection)
	}
	if err := acquire(ctx, ver.lock); err != nil {
		return nil, err
	}
	return &Tx{store: s, name: name, v: v, ver: ver, checkpoint: ver.checkpoint}, nil
}

// Checkpoint returns the committed checkpoint of the serving version.
func (s *Store) Checkpoint(name string) domain.Cursor {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projs[name]
	if !ok {
		return domain.Cursor{}
	}
	return p.versions[p.serving].checkpoint
}

// Recorded returns the positions a Recorder committed into the serving
// version of name, in the order applied.
func (s *Store) Recorded(name string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projs[name]
	if !ok {
		return nil
	}
	return slices.Clone(p.versions[p.serving].recorded)
}

// Calls returns the writer calls committed into the serving version.
func (s *Store) Calls(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projs[name]
	if !ok {
		return nil
	}
	return slices.Clone(p.versions[p.serving].calls)
}

// Tx is a transaction of the in-memory store: changes are buffered and
// become visible at Commit.
type Tx struct {
	store      *Store
	name       string
	v          int
	ver        *version
	checkpoint domain.Cursor
	recorded   []int64
	calls      []string
	done       bool
}

var errTxDone = errors.New("transaction already committed or rolled back")

func (t *Tx) Version() int { return t.v }

func (t *Tx) Checkpoint(context.Context) (domain.Cursor, error) {
	if t.done {
		return domain.Cursor{}, errTxDone
	}
	return t.checkpoint, nil
}

func (t *Tx) SetCheckpoint(_ context.Context, c domain.Cursor) error {
	if t.done {
		return errTxDone
	}
	t.checkpoint = c
	return nil
}

func (t *Tx) Commit(context.Context) error {
	if t.done {
		return errTxDone
	}
	t.done = true
	defer func() { <-t.ver.lock }()
	if f := t.store.FailCommit; f != nil {
		if err := f(t.name, t.v); err != nil {
			return err
		}
	}
	t.store.mu.Lock()
	defer t.store.mu.Unlock()
	t.ver.checkpoint = t.checkpoint
	t.ver.recorded = append(t.ver.recorded, t.recorded...)
	t.ver.calls = append(t.ver.calls, t.calls...)
	return nil
}

func (t *Tx) Rollback(context.Context) error {
	if t.done {
		return nil
	}
	t.done = true
	<-t.ver.lock
	return nil
}

// Record notes that the event at position was applied (Recorder uses it).
func (t *Tx) Record(position int64) { t.recorded = append(t.recorded, position) }

func (t *Tx) call(format string, args ...any) error {
	if t.done {
		return errTxDone
	}
	t.calls = append(t.calls, fmt.Sprintf(format, args...))
	return nil
}

func (t *Tx) InsertUser(_ context.Context, id uuid.UUID, username string, _ time.Time) error {
	return t.call("InsertUser %s %s", id, username)
}

func (t *Tx) SetUserStatus(_ context.Context, id uuid.UUID, status domain.UserStatus) error {
	return t.call("SetUserStatus %s %v", id, status)
}

func (t *Tx) AddUserRole(_ context.Context, id uuid.UUID, role string) error {
	return t.call("AddUserRole %s %s", id, role)
}

func (t *Tx) InsertRoom(_ context.Context, id uuid.UUID, name string, kind domain.RoomKind, _ []uuid.UUID, _ time.Time) error {
	return t.call("InsertRoom %s %s %v", id, name, kind)
}

func (t *Tx) AddMember(_ context.Context, room uuid.UUID, user domain.UserRef, _ time.Time) error {
	return t.call("AddMember %s %s", room, user.ID)
}

func (t *Tx) RemoveMember(_ context.Context, room, user uuid.UUID) error {
	return t.call("RemoveMember %s %s", room, user)
}

func (t *Tx) SetRoomHead(_ context.Context, room uuid.UUID, seq int64) error {
	return t.call("SetRoomHead %s %d", room, seq)
}

// The history, presence and read-marker writers only record their calls:
// tests of those folds run against the real stores, which answer the
// questions (came online? went offline?) these doubles cannot.

func (t *Tx) InsertRoomEvent(_ context.Context, room uuid.UUID, seq int64, _ []byte) error {
	return t.call("InsertRoomEvent %s %d", room, seq)
}

func (t *Tx) InsertMessage(_ context.Context, m projections.Message) error {
	return t.call("InsertMessage %s %d", m.ID, m.Seq)
}

func (t *Tx) EditMessage(_ context.Context, room, id uuid.UUID, _ string, _ time.Time) error {
	return t.call("EditMessage %s %s", room, id)
}

func (t *Tx) DeleteMessage(_ context.Context, room, id uuid.UUID) error {
	return t.call("DeleteMessage %s %s", room, id)
}

func (t *Tx) SetOnline(_ context.Context, user domain.UserRef, node string, _ time.Time) (bool, error) {
	return false, t.call("SetOnline %s %s", user.ID, node)
}

func (t *Tx) SetOffline(_ context.Context, user uuid.UUID, node string, _ time.Time) (bool, error) {
	return false, t.call("SetOffline %s %s", user, node)
}

func (t *Tx) DropNode(_ context.Context, node string, _ time.Time) ([]domain.UserRef, error) {
	return nil, t.call("DropNode %s", node)
}

func (t *Tx) SetReadMarker(_ context.Context, user, room uuid.UUID, seq int64) error {
	return t.call("SetReadMarker %s %s %d", user, room, seq)
}
