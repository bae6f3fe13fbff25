package postgres

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/eventstore/storetest"
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
	db := mustOpen(t)
	s := storetest.NewStore(t, db)
	ada, bob, room := uuid.New(), uuid.New(), uuid.New()
	var last domain.Cursor
	for _, cmd := range []domain.Command{
		domain.RegisterUser{UserID: ada, Username: "ada", PasswordHash: []byte("x")}, // first: admin, approved
		domain.RegisterUser{UserID: bob, Username: "bob", PasswordHash: []byte("y")},
		domain.ChangeStatus{By: &ada, UserID: bob, To: domain.Approve},
		domain.CreateRoom{By: ada, RoomID: room, Name: "general", Kind: domain.RoomPublic},
		domain.JoinRoom{By: bob, RoomID: room},
	} {
		events, err := s.Execute(ctx, cmd, domain.Metadata{})
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		last = events[len(events)-1].Cursor()
	}

	p := db.Projections()
	r, err := projections.NewRunner(projections.RunnerConfig{
		Store: p, Log: db, Head: db, Projections: []projections.Projection{projections.Approval{}, projections.Rooms{}},
		Logger: slog.New(slog.DiscardHandler), ReadBatch: 2, RebuildBatch: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Start catches up with what the log shows, which a transaction open
	// anywhere in the cluster holds back: wait until it shows everything.
	head := headAt(t, db, last)
	if err := r.Start(ctx); err != nil {
		t.Fatalf("start runner: %v", err)
	}
	for _, name := range []string{"approval", "rooms"} {
		waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := db.WaitFor(waitCtx, name, head); err != nil {
			t.Errorf("%s did not reach the log head: %v", name, err)
		}
		cancel()
	}
	users, err := db.Users(ctx, domain.StatusApproved)
	if err != nil || len(users) != 2 || !users[0].HasRole(domain.RoleAdmin) || users[1].HasRole(domain.RoleAdmin) {
		t.Errorf("approved users = %+v, %v; want ada (admin) and bob", users, err)
	}
	var members int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM room_members_v1 WHERE room = $1`, room).Scan(&members); err != nil || members != 2 {
		t.Errorf("room has %d members (%v), want 2 (creator and bob)", members, err)
	}

	if err := r.Rebuild(ctx, "approval", nil); err != nil {
		t.Fatalf("rebuild approval: %v", err)
	}
	serving, all, err := p.Versions(ctx, "approval")
	if err != nil || serving != 2 || len(all) != 1 {
		t.Fatalf("after rebuild: serving v%d of %v (%v), want v2 alone", serving, all, err)
	}
	if again, err := db.Users(ctx, domain.StatusApproved); err != nil || len(again) != 2 {
		t.Errorf("after rebuild: %d approved users (%v), want 2", len(again), err)
	}
}
