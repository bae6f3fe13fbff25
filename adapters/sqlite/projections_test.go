package sqlite

import (
	"context"
	"database/sql"
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

// apply runs fn in a transaction on name@version and commits it with the
// checkpoint c.
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
	p := mustOpen(t, t.TempDir()).Projections()
	if _, err := p.Begin(context.Background(), "approval"); !errors.Is(err, projections.ErrNoProjection) {
		t.Errorf("Begin of an unprepared projection: %v, want ErrNoProjection", err)
	}
	mustPrepare(t, p, "approval", 1)
	if _, err := p.BeginVersion(context.Background(), "approval", 2); !errors.Is(err, projections.ErrNoProjection) {
		t.Errorf("BeginVersion of an unprepared version: %v, want ErrNoProjection", err)
	}
	serving, all, err := p.Versions(context.Background(), "rooms")
	if err != nil || serving != 0 || len(all) != 0 {
		t.Errorf("Versions of an unknown projection = %d %v %v", serving, all, err)
	}
}

func TestApprovalWriter(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	p := db.Projections()
	mustPrepare(t, p, "approval", 1)
	mustPrepare(t, p, "approval", 1) // idempotent
	ada, bob := uuid.New(), uuid.New()
	at := time.UnixMilli(1_700_000_000_123).UTC()
	c := domain.Cursor{TxID: 3, Position: 7}
	apply(t, p, "approval", 0, c, func(tx projections.Tx) error {
		return errors.Join(
			tx.InsertUser(ctx, ada, "ada", at),
			tx.InsertUser(ctx, bob, "bob", at),
			tx.InsertUser(ctx, ada, "ada-again", at), // a replay changes nothing
			tx.SetUserStatus(ctx, ada, domain.StatusApproved),
			tx.AddUserRole(ctx, ada, "admin"),
			tx.AddUserRole(ctx, ada, "admin"),
		)
	})

	var name, status string
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT username, status, created_at FROM approval_users_v1 WHERE id = ?`,
		ada.String()).Scan(&name, &status, &created)
	if err != nil || name != "ada" || status != "approved" || created != at.UnixMilli() {
		t.Errorf("ada = %s %s %d %v", name, status, created, err)
	}
	if n := count(t, db, `SELECT count(*) FROM approval_roles_v1 WHERE user_id = ? AND role = 'admin'`, ada.String()); n != 1 {
		t.Errorf("ada holds admin %d times, want 1", n)
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

func TestRoomsWriter(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
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
	if err := db.read.QueryRowContext(ctx, `SELECT head FROM rooms_v1 WHERE id = ?`, room.String()).Scan(&head); err != nil || head != 5 {
		t.Errorf("head = %d %v, want 5", head, err)
	}
	if n := count(t, db, `SELECT count(*) FROM room_members_v1 WHERE room = ?`, room.String()); n != 1 {
		t.Errorf("room has %d members, want 1", n)
	}
	a, b := ada.String(), bob.String()
	if b < a {
		a, b = b, a
	}
	var found string
	err := db.read.QueryRowContext(ctx, `SELECT id FROM rooms_v1 WHERE direct_a = ? AND direct_b = ?`, a, b).Scan(&found)
	if err != nil || found != direct.String() {
		t.Errorf("direct room lookup = %s %v, want %s", found, err, direct)
	}
}

// TestRebuildAndActivate builds v2 beside v1, refuses to switch while v2
// lags, then switches and drops v1.
func TestRebuildAndActivate(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	p := db.Projections()
	mustPrepare(t, p, "approval", 1)
	user := uuid.New()
	c1, c2 := domain.Cursor{TxID: 1, Position: 1}, domain.Cursor{TxID: 2, Position: 2}
	insert := func(tx projections.Tx) error { return tx.InsertUser(ctx, user, "ada", time.Now()) }
	apply(t, p, "approval", 0, c2, insert)

	mustPrepare(t, p, "approval", 2)
	serving, all, err := p.Versions(ctx, "approval")
	if err != nil || serving != 1 || !slices.Equal(all, []int{1, 2}) {
		t.Fatalf("versions = %d %v %v, want 1 [1 2]", serving, all, err)
	}
	apply(t, p, "approval", 2, c1, insert)
	if err := p.Activate(ctx, "approval", 2); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("activate a lagging version: %v, want a refusal", err)
	}
	apply(t, p, "approval", 2, c2, func(projections.Tx) error { return nil })
	if err := p.Activate(ctx, "approval", 2); err != nil {
		t.Fatalf("activate: %v", err)
	}
	serving, all, err = p.Versions(ctx, "approval")
	if err != nil || serving != 2 || !slices.Equal(all, []int{2}) {
		t.Errorf("versions after activate = %d %v %v, want 2 [2]", serving, all, err)
	}
	if n := count(t, db, `SELECT count(*) FROM sqlite_schema WHERE name LIKE 'approval%_v1'`); n != 0 {
		t.Errorf("%d tables of v1 remain", n)
	}
	if n := count(t, db, `SELECT count(*) FROM approval_users_v2`); n != 1 {
		t.Errorf("v2 holds %d users, want 1", n)
	}
	tx, err := p.Begin(ctx, "approval")
	if err != nil {
		t.Fatal(err)
	}
	if tx.Version() != 2 {
		t.Errorf("Begin serves v%d, want v2", tx.Version())
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Error(err)
	}
}

// TestProjectionAndAppendShareTheWriter: a projection transaction and an
// append wait for each other instead of deadlocking or failing busy.
func TestProjectionAndAppendShareTheWriter(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	p := db.Projections()
	mustPrepare(t, p, "approval", 1)
	s := mustStore(t, db)

	tx, err := p.Begin(ctx, "approval")
	if err != nil {
		t.Fatal(err)
	}
	appended := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, domain.Metadata{}, node("node-a", domain.NoStream, "a"))
		appended <- err
	}()
	select {
	case err := <-appended:
		t.Fatalf("append finished while a projection held the writer: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := tx.InsertUser(ctx, uuid.New(), "ada", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-appended:
		if err != nil {
			t.Fatalf("append after the projection committed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("append still waiting after the projection committed")
	}
}

func count(tb testing.TB, db *DB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := db.read.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil && !errors.Is(err, sql.ErrNoRows) {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}
