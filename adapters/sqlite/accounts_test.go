package sqlite

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// TestAccountReads reads secrets and read models the way log-in, the admin
// pages and direct messages do, waiting for the projections first.
func TestAccountReads(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	s := mustStore(t, db)
	ada, bob, session, direct := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	var last []domain.Event
	for _, cmd := range []domain.Command{
		domain.RegisterUser{UserID: ada, Username: "ada", PasswordHash: []byte("pw-ada")},
		domain.RegisterUser{UserID: bob, Username: "bob", PasswordHash: []byte("pw-bob")},
		domain.StartSession{UserID: ada, SessionID: session, TokenHash: []byte("tok"), ExpiresAt: time.UnixMilli(2_000_000_000_000)},
		domain.ChangeStatus{By: &ada, UserID: bob, To: domain.Approve},
		domain.OpenDirect{By: ada, With: bob, NewRoomID: direct},
	} {
		events, err := s.Execute(ctx, cmd, domain.Metadata{})
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		last = events
	}

	id, hash, err := db.Credentials(ctx, "bob")
	if err != nil || id != bob || string(hash) != "pw-bob" {
		t.Errorf("Credentials(bob) = %s %q %v", id, hash, err)
	}
	if _, _, err := db.Credentials(ctx, "eve"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("Credentials(eve): %v, want not found", err)
	}

	runProjections(t, db, last[len(last)-1].Cursor())
	u, err := db.User(ctx, ada)
	if err != nil || u.Username != "ada" || u.Status != domain.StatusApproved || !u.HasRole("admin") {
		t.Errorf("User(ada) = %+v %v", u, err)
	}
	if _, err := db.User(ctx, uuid.New()); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("unknown user: %v, want not found", err)
	}
	users, err := db.Users(ctx, domain.StatusApproved)
	if err != nil || len(users) != 2 || users[0].ID != ada || users[1].Roles == nil {
		t.Errorf("Users(approved) = %+v %v", users, err)
	}
	if pending, err := db.Users(ctx, domain.StatusPending); err != nil || len(pending) != 0 {
		t.Errorf("Users(pending) = %+v %v", pending, err)
	}
	for _, pair := range [][2]uuid.UUID{{ada, bob}, {bob, ada}} {
		if room, err := db.DirectRoom(ctx, pair[0], pair[1]); err != nil || room != direct {
			t.Errorf("DirectRoom%v = %s %v, want %s", pair, room, err, direct)
		}
	}
	if _, err := db.DirectRoom(ctx, ada, uuid.New()); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("DirectRoom with a stranger: %v, want not found", err)
	}
}

// TestSessionUser reads a session with its user in one statement the way
// authentication does: the store returns revoked, expired and unapproved
// sessions as they are (the caller refuses them) and CodeNotFound when
// either the session or its user is missing.
func TestSessionUser(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	s := mustStore(t, db)
	ada, bob, carol := uuid.New(), uuid.New(), uuid.New()
	live, revoked, expired, pending, ghost := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	later := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	for _, cmd := range []domain.Command{
		domain.RegisterUser{UserID: ada, Username: "ada", PasswordHash: []byte("x")}, // first: admin, approved
		domain.RegisterUser{UserID: bob, Username: "bob", PasswordHash: []byte("y")},
		domain.RegisterUser{UserID: carol, Username: "carol", PasswordHash: []byte("z")},
		domain.ChangeStatus{By: &ada, UserID: bob, To: domain.Approve},
		domain.ChangeStatus{By: &ada, UserID: carol, To: domain.Approve},
		domain.StartSession{UserID: ada, SessionID: live, TokenHash: []byte("live"), ExpiresAt: later},
		domain.StartSession{UserID: ada, SessionID: revoked, TokenHash: []byte("revoked"), ExpiresAt: later},
		domain.EndSession{UserID: ada, SessionID: revoked, Reason: "logout"},
		domain.StartSession{UserID: ada, SessionID: expired, TokenHash: []byte("expired"), ExpiresAt: past},
		domain.StartSession{UserID: bob, SessionID: pending, TokenHash: []byte("pending"), ExpiresAt: later},
		domain.StartSession{UserID: carol, SessionID: ghost, TokenHash: []byte("ghost"), ExpiresAt: later},
	} {
		if _, err := s.Execute(ctx, cmd, domain.Metadata{}); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	// The read model as a lagging projection could hold it: bob still
	// pending, carol not there yet.
	p := db.Projections()
	mustPrepare(t, p, "approval", 1)
	at := time.UnixMilli(1_700_000_000_123).UTC()
	apply(t, p, "approval", 0, domain.Cursor{TxID: 1, Position: 1}, func(tx projections.Tx) error {
		return errors.Join(tx.InsertUser(ctx, ada, "ada", at), tx.SetUserStatus(ctx, ada, domain.StatusApproved),
			tx.AddUserRole(ctx, ada, "admin"), tx.AddUserRole(ctx, ada, "moderator"), tx.InsertUser(ctx, bob, "bob", at))
	})

	sess, u, err := db.SessionUser(ctx, []byte("live"))
	if err != nil || sess != (Session{ID: live, UserID: ada, ExpiresAt: later}) || u.ID != ada || u.Username != "ada" ||
		u.Status != domain.StatusApproved || !time.Time(u.CreatedAt).Equal(at) || !slices.Equal(u.Roles, []string{"admin", "moderator"}) {
		t.Errorf("live session = %+v, %+v, %v", sess, u, err)
	}
	if sess, _, err := db.SessionUser(ctx, []byte("revoked")); err != nil || sess.ID != revoked || !sess.Revoked {
		t.Errorf("revoked session = %+v, %v; want it, revoked", sess, err)
	}
	if sess, _, err := db.SessionUser(ctx, []byte("expired")); err != nil || sess.ID != expired || !sess.ExpiresAt.Equal(past) {
		t.Errorf("expired session = %+v, %v; want it, expiring at %v", sess, err, past)
	}
	sess, u, err = db.SessionUser(ctx, []byte("pending"))
	if err != nil || sess.ID != pending || u.ID != bob || u.Status != domain.StatusPending || u.Roles == nil || len(u.Roles) != 0 {
		t.Errorf("pending user's session = %+v, %+v, %v; want bob pending with no roles", sess, u, err)
	}
	for _, hash := range []string{"ghost", "unknown"} {
		if _, _, err := db.SessionUser(ctx, []byte(hash)); domain.ErrorCode(err) != domain.CodeNotFound {
			t.Errorf("%s: %v, want not found", hash, err)
		}
	}
}

// runProjections starts a runner on approval and rooms in the background
// and waits until both applied the log up to c.
func runProjections(t *testing.T, db *DB, c domain.Cursor) {
	t.Helper()
	ctx := context.Background()
	r, err := projections.NewRunner(projections.RunnerConfig{
		Store: db.Projections(), Log: db, Projections: []projections.Projection{projections.Approval{}, projections.Rooms{}},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Prepare first so WaitFor has a checkpoint to watch, then catch up
	// while WaitFor waits.
	for _, p := range []string{"approval", "rooms"} {
		mustPrepare(t, db.Projections(), p, 1)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		if err := r.Start(ctx); err != nil {
			t.Errorf("start runner: %v", err)
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, p := range []string{"approval", "rooms"} {
		if err := db.WaitFor(wctx, p, c); err != nil {
			t.Fatalf("WaitFor(%s): %v", p, err)
		}
	}
}

func TestWaitForGivesUp(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	mustPrepare(t, db.Projections(), "approval", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := db.WaitFor(ctx, "approval", domain.Cursor{TxID: 1, Position: 1}); err == nil {
		t.Error("WaitFor returned for a cursor no projection reached")
	}
}
