package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// register runs RegisterUser and returns the new user's id.
func register(ctx context.Context, s *eventstore.Store, name string) (uuid.UUID, []domain.Event, error) {
	id := uuid.New()
	events, err := s.Execute(ctx, domain.RegisterUser{UserID: id, Username: name, PasswordHash: []byte("hash-" + name)},
		domain.Metadata{ActorID: id.String(), ActorName: name})
	return id, events, err
}

// testFirstAdmin registers ten users at once through three stores (three
// concurrent writers where the backend allows): exactly one becomes admin.
func testFirstAdmin(t *testing.T, h Harness) {
	b := h.New(t)
	stores := []*eventstore.Store{NewStore(t, b), NewStore(t, b), NewStore(t, b)}
	start := make(chan struct{})
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			<-start
			_, _, errs[i] = register(context.Background(), stores[i%len(stores)], fmt.Sprintf("user%d", i))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("register user%d: %v", i, err)
		}
	}
	admins, approvals, registrations := 0, 0, 0
	for _, e := range MustReadAll(t, b) {
		switch e.Type {
		case "UserRegistered":
			registrations++
		case "UserApproved":
			approvals++
		case "RoleGranted":
			var g domain.RoleGranted
			if err := json.Unmarshal(e.Data, &g); err != nil {
				t.Fatal(err)
			}
			if g.Role == domain.RoleAdmin {
				admins++
			}
		}
	}
	if registrations != 10 || admins != 1 || approvals != 1 {
		t.Fatalf("%d registrations, %d admins, %d approvals; want 10, 1, 1", registrations, admins, approvals)
	}
}

func testUsernameConflict(t *testing.T, h Harness) {
	s := NewStore(t, h.New(t))
	ctx := context.Background()
	if _, _, err := register(ctx, s, "alice"); err != nil {
		t.Fatal(err)
	}
	_, events, err := register(ctx, s, "alice")
	wantCode(t, err, domain.CodeConflict)
	if len(events) != 0 {
		t.Errorf("conflicting registration returned %d events", len(events))
	}
	if _, _, err := register(ctx, s, "bob"); err != nil {
		t.Fatalf("register bob after the conflict: %v", err)
	}
}

func testIdempotentPost(t *testing.T, h Harness) {
	b := h.New(t)
	s := NewStore(t, b)
	ctx := context.Background()
	admin, _, err := register(ctx, s, "admin")
	if err != nil {
		t.Fatal(err)
	}
	meta := domain.Metadata{ActorID: admin.String(), ActorName: "admin"}
	room := uuid.New()
	created, err := s.Execute(ctx, domain.CreateRoom{By: admin, RoomID: room, Name: "general", Kind: domain.RoomPublic}, meta)
	if err != nil || len(created) != 2 {
		t.Fatalf("create room: %d events, %v", len(created), err)
	}
	_, err = s.Execute(ctx, domain.CreateRoom{By: admin, RoomID: room, Name: "again", Kind: domain.RoomPublic}, meta)
	wantCode(t, err, domain.CodeConflict)

	clientID := uuid.New()
	post := domain.PostMessage{By: admin, RoomID: room, MessageID: uuid.New(), ClientID: clientID, Body: "hello"}
	first, err := s.Execute(ctx, post, meta)
	if err != nil || len(first) != 1 || first[0].Version != 3 {
		t.Fatalf("post: %+v, %v; want one event at seq 3", first, err)
	}
	post.MessageID = uuid.New() // a resend gets a new id from the gateway; the key is the client id
	again, err := s.Execute(ctx, post, meta)
	if err != nil || len(again) != 1 || again[0].ID != first[0].ID || again[0].Version != first[0].Version {
		t.Fatalf("repeat post returned %+v, %v; want the first event %s", again, err, first[0].ID)
	}

	// Resends racing each other (likely in one group commit) still record
	// the message once.
	post.ClientID = uuid.New()
	ids := make([]uuid.UUID, 10)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			p := post
			p.MessageID = uuid.New()
			got, err := s.Execute(ctx, p, meta)
			if err != nil || len(got) != 1 || got[0].Position == 0 {
				t.Errorf("racing resend %d: %+v, %v", i, got, err)
				return
			}
			ids[i] = got[0].ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("racing resends returned different events: %v", ids)
		}
	}
	events := MustReadStream(t, b, domain.RoomStream(room), 0)
	if len(events) != 4 {
		t.Fatalf("room stream has %d events, want 4", len(events))
	}
	checkChain(t, events)
}
