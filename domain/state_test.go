package domain_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/chatlog/chat/domain"
)

// history is a long life of the chat, touching every kind of state.
func history() []domain.Payload {
	return with(chatter(), []domain.Payload{
		&domain.UserApproved{UserID: id("pat")},
		&domain.RoleGranted{UserID: id("alice"), Role: domain.RoleAuditor},
		&domain.RoleGranted{UserID: id("alice"), Role: domain.RoleAuditor},
		session("bob", "s1"), session("bob", "s2"), session("carol", "s3"),
		&domain.SessionEnded{SessionID: id("s1"), UserID: id("bob"), Reason: "logout"},
		&domain.ReadMarkerMoved{UserID: id("bob"), RoomID: id("lobby"), Seq: 5},
		&domain.ReadMarkerMoved{UserID: id("bob"), RoomID: id("lobby"), Seq: 4},
		&domain.MessageEdited{RoomID: id("lobby"), MessageID: id("m1"), Body: "x"},
		&domain.MessageDeleted{RoomID: id("lobby"), MessageID: id("m2")},
		left("lobby", "bob"),
		&domain.UserDeactivated{UserID: id("carol")},
		&domain.SessionEnded{SessionID: id("s3"), UserID: id("carol"), Reason: "deactivated"},
		&domain.UserConnected{UserID: id("alice"), Node: "n1"},
		&domain.NodeStopped{Node: "n1", Reason: "shutdown"},
	})
}

// The store loads only StateKeysOf before evolving appended events, so
// folding with only those keys must give what folding with everything gives.
func TestStateKeysOfCoverWhatEvolveReads(t *testing.T) {
	narrow, _ := replay(t, history())
	full := domain.NewState(nil, nil)
	for _, p := range history() {
		domain.Evolve(full, p)
	}
	keys, values := full.Dirty()
	if len(keys) != len(narrow) {
		t.Errorf("full fold wrote %d keys, store-like fold %d", len(keys), len(narrow))
	}
	for i, k := range keys {
		if v, ok := narrow[k]; !ok || !bytes.Equal(v, values[i]) {
			t.Errorf("key %s: store-like fold %s (present %v), full fold %s", k, v, ok, values[i])
		}
	}
}

func TestEvolveFacts(t *testing.T) {
	s := given(t, history()...)
	if u, _ := s.User(id("pat")); u.Status != domain.StatusApproved {
		t.Errorf("pat is %s, want approved", u.Status)
	}
	if u, _ := s.User(id("carol")); u.Status != domain.StatusDeactivated {
		t.Errorf("carol is %s, want deactivated", u.Status)
	}
	if u, _ := s.User(id("alice")); !slices.Equal(u.Roles, []string{domain.RoleAuditor}) {
		t.Errorf("alice's roles = %v, want one auditor role", u.Roles)
	}
	if u, _ := s.User(id("root")); !u.HasRole(domain.RoleAdmin) || u.HasRole(domain.RoleAuditor) {
		t.Errorf("root's roles = %v", u.Roles)
	}
	if got := s.Sessions(id("bob")); !slices.Equal(got, []uuid.UUID{id("s2")}) {
		t.Errorf("bob's sessions = %v, want [s2]", got)
	}
	if got := s.Sessions(id("carol")); len(got) != 0 {
		t.Errorf("carol's sessions = %v, want none", got)
	}
	if got := s.ReadMarker(id("bob"), id("lobby")); got != 5 {
		t.Errorf("bob's read marker = %d, want 5: markers never move back", got)
	}
	if s.IsMember(id("lobby"), id("bob")) || !s.IsMember(id("lobby"), id("alice")) {
		t.Error("membership after bob left is wrong")
	}
	if m, ok := s.Message(id("lobby"), id("m2")); !ok || !m.Deleted || m.Author != id("bob") {
		t.Errorf("m2 = %+v, %v; want deleted, by bob", m, ok)
	}
	if m, ok := s.Message(id("lobby"), id("m1")); !ok || m.Deleted || m.Author != id("alice") {
		t.Errorf("m1 = %+v, %v; want live, by alice", m, ok)
	}
	if owner, ok := s.UsernameOwner("alice"); !ok || owner != id("alice") {
		t.Errorf("owner of alice = %v, %v", owner, ok)
	}
	if r, ok := s.Room(id("den")); !ok || r.Kind != domain.RoomPrivate || r.Name != "den" {
		t.Errorf("den = %+v, %v", r, ok)
	}
	if !s.AnyAccount() || given(t).AnyAccount() {
		t.Error("AnyAccount does not say whether anyone registered")
	}
	if got := s.Head(domain.RoomStream(id("lobby"))); got != 8 {
		t.Errorf("lobby head = %d, want 8", got)
	}
}

func TestEvolveOfUnknownSubjectsChangesNothing(t *testing.T) {
	s := domain.NewState(nil, nil)
	for _, p := range []domain.Payload{
		&domain.UserApproved{UserID: id("ghost")},
		&domain.RoleGranted{UserID: id("ghost"), Role: domain.RoleAdmin},
		&domain.MessageDeleted{RoomID: id("lobby"), MessageID: id("ghost")},
		&domain.NodeStarted{Node: "n1"},
		&domain.LogSealed{Streams: 1},
	} {
		domain.Evolve(s, p)
	}
	if keys, _ := s.Dirty(); len(keys) != 0 {
		t.Errorf("events about nobody wrote %v", keys)
	}
}

func TestStateBookkeeping(t *testing.T) {
	s := domain.NewState(nil, nil)
	if s.Head("x") != 0 {
		t.Error("an unknown stream has a head")
	}
	s.SetHead("x", 3)
	if s.Head("x") != 3 {
		t.Errorf("Head = %d after SetHead 3", s.Head("x"))
	}

	// A loaded value, even a known absence, is not replaced by a later load:
	// within a batch the state is newer than the table.
	key := "user:" + id("alice").String()
	s.Load(key, nil)
	if !s.Has(key) {
		t.Fatal("a known absence is not known")
	}
	s.Load(key, []byte(`{"status":"approved"}`))
	if _, ok := s.User(id("alice")); ok {
		t.Error("a second Load replaced the first")
	}

	domain.Evolve(s, joined("lobby", "bob"))
	domain.Evolve(s, registered("bob"))
	keys, values := s.Dirty()
	if !slices.IsSorted(keys) || len(keys) != len(values) || len(keys) != 4 {
		t.Fatalf("Dirty() = %v (%d values), want 4 sorted keys", keys, len(values))
	}
	if again, _ := s.Dirty(); len(again) != 0 {
		t.Errorf("Dirty() twice returned %v", again)
	}

	// Leaving deletes the membership key rather than storing false.
	domain.Evolve(s, left("lobby", "bob"))
	keys, values = s.Dirty()
	if len(keys) != 1 || values[0] != nil {
		t.Errorf("after leaving: %v = %q, want one deleted key", keys, values)
	}
}
