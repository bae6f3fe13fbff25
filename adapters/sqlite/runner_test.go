package sqlite

import (
	"context"
	"log/slog"
	"testing"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// TestRunnerOverTheStore runs the real projection runner over this store:
// commands go through the write path, the runner catches the approval and
// rooms read models up from the log, and a rebuild replaces approval v1 by
// v2 with the same contents.
func TestRunnerOverTheStore(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	s := mustStore(t, db)
	ada, bob, room := uuid.New(), uuid.New(), uuid.New()
	for _, cmd := range []domain.Command{
		domain.RegisterUser{UserID: ada, Username: "ada", PasswordHash: []byte("x")}, // first: admin, approved
		domain.RegisterUser{UserID: bob, Username: "bob", PasswordHash: []byte("y")},
		domain.ChangeStatus{By: &ada, UserID: bob, To: domain.Approve},
		domain.CreateRoom{By: ada, RoomID: room, Name: "general", Kind: domain.RoomPublic},
		domain.JoinRoom{By: bob, RoomID: room},
	} {
		if _, err := s.Execute(ctx, cmd, domain.Metadata{}); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}

	p := db.Projections()
	r, err := projections.NewRunner(projections.RunnerConfig{
		Store: p, Log: db, Head: db, Projections: []projections.Projection{projections.Approval{}, projections.Rooms{}},
		Logger: slog.New(slog.DiscardHandler), ReadBatch: 2, RebuildBatch: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatalf("start runner: %v", err)
	}
	head, err := db.LogHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"approval", "rooms"} {
		tx, err := p.Begin(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := tx.Checkpoint(ctx); err != nil || c != head {
			t.Errorf("%s checkpoint %v %v, want the log head %v", name, c, err, head)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
	checkUsers := func(table string) {
		t.Helper()
		if n := count(t, db, `SELECT count(*) FROM `+table+` WHERE status = 'approved'`); n != 2 {
			t.Errorf("%s holds %d approved users, want 2", table, n)
		}
	}
	checkUsers("approval_users_v1")
	if n := count(t, db, `SELECT count(*) FROM approval_roles_v1 WHERE user_id = ? AND role = 'admin'`, ada.String()); n != 1 {
		t.Errorf("ada is not admin in the read model")
	}
	if n := count(t, db, `SELECT count(*) FROM room_members_v1 WHERE room = ?`, room.String()); n != 2 {
		t.Errorf("room has %d members, want 2 (creator and bob)", n)
	}
	if n := count(t, db, `SELECT head FROM rooms_v1 WHERE id = ?`, room.String()); n < 2 {
		t.Errorf("room head %d, want at least 2", n)
	}

	if err := r.Rebuild(ctx, "approval", nil); err != nil {
		t.Fatalf("rebuild approval: %v", err)
	}
	serving, all, err := p.Versions(ctx, "approval")
	if err != nil || serving != 2 || len(all) != 1 {
		t.Fatalf("after rebuild: serving v%d of %v (%v), want v2 alone", serving, all, err)
	}
	checkUsers("approval_users_v2")
}
