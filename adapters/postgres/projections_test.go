package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

func mustPrepare(tb testing.TB, p *Projections, name string, version int) {
	tb.Helper()
	if err := p.Prepare(context.Background(), name, version); err != nil {
		tb.Fatalf("prepare %s v%d: %v", name, version, err)
	}
}

// apply runs fn in a transaction on name@version (0: serving) and commits
// it with checkpoint c.
func apply(tb testing.TB, p *Projections, name string, version int, c domain.Cursor, fn func(tx projections.Tx) error) {
	tb.Helper()
	ctx := context.Background()
	var tx projections.Tx
	var err error
	if version == 0 {
		tx, err = p.Begin(ctx, name)
	} else {
		tx, err = p.BeginVersion(ctx, name, version)
	}
	if err != nil {
		tb.Fatalf("begin %s: %v", name, err)
	}
	defer func() {
		if err := tx.Rollback(ctx); err != nil {
			tb.Errorf("rollback: %v", err)
		}
	}()
	if err := fn(tx); err != nil {
		tb.Fatalf("apply to %s: %v", name, err)
	}
	if err := tx.SetCheckpoint(ctx, c); err != nil {
		tb.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		tb.Fatal(err)
	}
}

func TestProjectionNotPrepared(t *testing.T) {
	p := mustOpen(t).Projections()
	ctx := context.Background()
	if _, err := p.Begin(ctx, "approval"); !errors.Is(err, projections.ErrNoProjection) {
		t.Errorf("Begin of an unprepared projection: %v, want ErrNoProjection", err)
	}
	mustPrepare(t, p, "approval", 1)
	if _, err := p.BeginVersion(ctx, "approval", 2); !errors.Is(err, projections.ErrNoProjection) {
		t.Errorf("BeginVersion of an unprepared version: %v, want ErrNoProjection", err)
	}
	serving, all, err := p.Versions(ctx, "rooms")
	if err != nil || serving != 0 || len(all) != 0 {
		t.Errorf("Versions of an unknown projection = %d %v %v", serving, all, err)
	}
}

func TestApprovalWriterAndReads(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	p := db.Projections()
	mustPrepare(t, p, "approval", 1)
	mustPrepare(t, p, "approval", 1) // idempotent
	ada, bob := uuid.New(), uuid.New()
	at := time.UnixMilli(1_700_000_000_123).UTC()
	c := domain.Cursor{TxID: 3, Position: 7}
	apply(t, p, "approval", 0, c, func(tx projections.Tx) error {
		return errors.Join(
			tx.InsertUser(ctx, ada, "ada", at),
			tx.InsertUser(ctx, bob, "bob", at.Add(time.Second)),
			tx.InsertUser(ctx, ada, "ada-again", at), // a replay changes nothing
			tx.SetUserStatus(ctx, ada, domain.StatusApproved),
			tx.AddUserRole(ctx, ada, "admin"),
			tx.AddUserRole(ctx, ada, "admin"),
		)
	})
	u, err := db.User(ctx, ada)
	if err != nil || u.Username != "ada" || u.Status != domain.StatusApproved ||
		!time.Time(u.CreatedAt).Equal(at) || !slices.Equal(u.Roles, []string{"admin"}) {
		t.Errorf("ada = %+v, %v", u, err)
	}
	pending, err := db.Users(ctx, domain.StatusPending)
	if err != nil || len(pending) != 1 || pending[0].ID != bob || pending[0].Roles == nil || len(pending[0].Roles) != 0 {
		t.Errorf("pending users = %+v, %v; want bob with no roles", pending, err)
	}
	if all, err := db.Users(ctx, ""); err != nil || len(all) != 2 || all[0].ID != ada {
		t.Errorf("all users = %+v, %v; want ada then bob", all, err)
	}
	if _, err := db.User(ctx, uuid.New()); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("unknown user: %v, want not found", err)
	}

	tx, err := p.Begin(ctx, "approval")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := tx.Rollback(ctx); err != nil {
			t.Error(err)
		}
	}()
	if got, err := tx.Checkpoint(ctx); err != nil || got != c || tx.Version() != 1 {
		t.Errorf("checkpoint = %v %v at v%d, want %v at v1", got, err, tx.Version(), c)
	}
	if err := tx.InsertRoom(ctx, uuid.New(), "x", domain.RoomPublic, nil, at); err == nil ||
		!strings.Contains(err.Error(), "has no table rooms") {
		t.Errorf("approval writing a room: %v, want a refusal", err)
	}
}

func TestRoomsWriterAndDirectRoom(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	p := db.Projections()
	mustPrepare(t, p, "rooms", 1)
	room, direct, ada, bob := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	at := time.UnixMilli(1_700_000_000_000).UTC()
	apply(t, p, "rooms", 0, domain.Cursor{TxID: 1, Position: 1}, func(tx projections.Tx) error {
		return errors.Join(
			tx.InsertRoom(ctx, room, "general", domain.RoomPublic, nil, at),
			tx.InsertRoom(ctx, direct, "", domain.RoomDirect, []uuid.UUID{bob, ada}, at),
			tx.AddMember(ctx, room, domain.UserRef{ID: ada, Username: "ada"}, at),
			tx.AddMember(ctx, room, domain.UserRef{ID: bob, Username: "bob"}, at),
			tx.RemoveMember(ctx, room, bob),
			tx.SetRoomHead(ctx, room, 5),
			tx.SetRoomHead(ctx, room, 3), // lower: ignored
		)
	})
	var head int64
	if err := db.pool.QueryRow(ctx, `SELECT head FROM rooms_v1 WHERE id = $1`, room).Scan(&head); err != nil || head != 5 {
		t.Errorf("head = %d %v, want 5", head, err)
	}
	var members int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM room_members_v1 WHERE room = $1`, room).Scan(&members); err != nil || members != 1 {
		t.Errorf("room has %d members (%v), want 1", members, err)
	}
	for _, pair := range [][2]uuid.UUID{{ada, bob}, {bob, ada}} {
		if got, err := db.DirectRoom(ctx, pair[0], pair[1]); err != nil || got != direct {
			t.Errorf("direct room of %v = %s %v, want %s", pair, got, err, direct)
		}
	}
	if _, err := db.DirectRoom(ctx, ada, uuid.New()); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("missing direct room: %v, want not found", err)
	}
}

func TestRebuildAndActivate(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	p := db.Projections()
	mustPrepare(t, p, "approval", 1)
	ada := uuid.New()
	at := time.Now().UTC().Truncate(time.Millisecond)
	apply(t, p, "approval", 0, domain.Cursor{TxID: 5, Position: 9}, func(tx projections.Tx) error {
		return tx.InsertUser(ctx, ada, "ada", at)
	})
	mustPrepare(t, p, "approval", 2)
	serving, all, err := p.Versions(ctx, "approval")
	if err != nil || serving != 1 || !slices.Equal(all, []int{1, 2}) {
		t.Fatalf("versions = %d %v %v, want 1 [1 2]", serving, all, err)
	}
	// v2 behind: refused.
	apply(t, p, "approval", 2, domain.Cursor{TxID: 4, Position: 8}, func(tx projections.Tx) error {
		return tx.InsertUser(ctx, ada, "ada-v2", at)
	})
	if err := p.Activate(ctx, "approval", 2); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("activating a version behind: %v, want a refusal", err)
	}
	if u, err := db.User(ctx, ada); err != nil || u.Username != "ada" {
		t.Errorf("still serving v1: %+v %v", u, err)
	}
	apply(t, p, "approval", 2, domain.Cursor{TxID: 5, Position: 9}, func(projections.Tx) error { return nil })
	if err := p.Activate(ctx, "approval", 2); err != nil {
		t.Fatalf("activate caught-up v2: %v", err)
	}
	serving, all, err = p.Versions(ctx, "approval")
	if err != nil || serving != 2 || !slices.Equal(all, []int{2}) {
		t.Errorf("after activate: %d %v %v, want 2 [2]", serving, all, err)
	}
	if u, err := db.User(ctx, ada); err != nil || u.Username != "ada-v2" {
		t.Errorf("serving v2: %+v %v", u, err)
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass('approval_users_v1') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Errorf("v1 tables still exist (%v)", err)
	}
}

func TestWaitFor(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	p := db.Projections()
	mustPrepare(t, p, "approval", 1)
	target := domain.Cursor{TxID: 10, Position: 3}
	done := make(chan error, 1)
	go func() { done <- db.WaitFor(ctx, "approval", target) }()
	select {
	case err := <-done:
		t.Fatalf("WaitFor returned before the projection got there: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	apply(t, p, "approval", 0, target, func(projections.Tx) error { return nil })
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("WaitFor did not return after the projection caught up")
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if err := db.WaitFor(short, "approval", domain.Cursor{TxID: 11}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor past the checkpoint: %v, want deadline exceeded", err)
	}
}
