package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
)

func TestWakeups(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	s := mustStore(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	a, b := db.Wakeups(ctx), db.Wakeups(ctx)

	mustAppend(t, s, node("node-a", domain.NoStream, "a1"))
	mustAppend(t, s, node("node-a", 1, "a2")) // coalesces with the first
	for name, ch := range map[string]<-chan struct{}{"a": a, "b": b} {
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Fatalf("subscriber %s was not woken", name)
		}
		select {
		case <-ch:
			t.Errorf("subscriber %s got a second, uncoalesced signal", name)
		default:
		}
	}

	cancel()
	select {
	case _, open := <-a:
		if open {
			t.Error("signal after cancel, want the channel closed")
		}
	case <-time.After(time.Second):
		t.Fatal("channel not closed after its context ended")
	}
}

func TestLeadership(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	ctx := context.Background()
	lost, release, err := db.AcquireLeadership(ctx, "relay")
	if err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, _, err := db.AcquireLeadership(short, "relay"); err == nil {
		t.Fatal("a second holder acquired a held lock")
	}
	_, releaseOther, err := db.AcquireLeadership(ctx, "other")
	if err != nil {
		t.Fatalf("an unrelated name: %v", err)
	}
	releaseOther()

	acquired := make(chan func(), 1)
	go func() {
		_, rel, err := db.AcquireLeadership(ctx, "relay")
		if err != nil {
			t.Error(err)
			return
		}
		acquired <- rel
	}()
	select {
	case <-lost:
		t.Fatal("lost closed while still held")
	case <-acquired:
		t.Fatal("a waiter acquired a held lock")
	case <-time.After(30 * time.Millisecond):
	}
	release()
	release() // a second release is harmless
	select {
	case rel := <-acquired:
		rel()
	case <-time.After(time.Second):
		t.Fatal("the waiter did not get the lock after release")
	}
}
