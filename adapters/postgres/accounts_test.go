package postgres

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/eventstore/storetest"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// TestSessionUser reads a session with its user in one query the way
// authentication does: the store returns revoked, expired and unapproved
// sessions as they are (the caller refuses them) and CodeNotFound when
// either the session or its user is missing. After a rebuild switches the
// serving version, the cached version is stale and the read retries on the
// new one.
func TestSessionUser(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	s := storetest.NewStore(t, db)
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

	mustPrepare(t, p, "approval", 2)
	apply(t, p, "approval", 2, domain.Cursor{TxID: 1, Position: 1}, func(tx projections.Tx) error {
		return errors.Join(tx.InsertUser(ctx, ada, "ada-v2", at), tx.SetUserStatus(ctx, ada, domain.StatusApproved))
	})
	if err := p.Activate(ctx, "approval", 2); err != nil {
		t.Fatalf("activate v2: %v", err)
	}
	if _, u, err := db.SessionUser(ctx, []byte("live")); err != nil || u.Username != "ada-v2" || len(u.Roles) != 0 {
		t.Errorf("after the switch to v2: %+v, %v; want ada-v2 with no roles", u, err)
	}
}
