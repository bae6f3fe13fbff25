package projections_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/chatlog/chat/projections/projectiontest"
	"github.com/google/uuid"
)

// applyOnce applies one event to a fresh in-memory store and returns the
// writer calls and updates it made.
func applyOnce(t *testing.T, p projections.Projection, e *domain.Event, payload domain.Payload) ([]string, []projections.Update) {
	t.Helper()
	ctx := context.Background()
	s := projectiontest.NewStore()
	if err := s.Prepare(ctx, p.Name(), 1); err != nil {
		t.Fatal(err)
	}
	tx, err := s.Begin(ctx, p.Name())
	if err != nil {
		t.Fatal(err)
	}
	ups, err := p.Apply(ctx, tx, e, payload)
	if err != nil {
		t.Fatalf("%s: apply %s: %v", p.Name(), e.Type, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return s.Calls(p.Name()), ups
}

// TestSelectiveProjectionsReadWhatTheyFold: for every event type a
// projection says it does not read, applying the event with its payload
// and with none makes the same writes and updates; for every type it
// reads, the payload makes a difference; a type a Sparse projection does
// not fold makes no writes and no updates. A projection that starts
// folding a new type without listing it fails here.
func TestSelectiveProjectionsReadWhatTheyFold(t *testing.T) {
	room := uuid.New()
	for _, p := range []projections.Projection{projections.Approval{}, projections.Presence{},
		projections.ReadMarkers{}, projections.Rooms{}} {
		sel, ok := p.(projections.Selective)
		if !ok {
			t.Fatalf("%s is not selective", p.Name())
		}
		for _, typ := range domain.EventTypes() {
			e := &domain.Event{Position: 1, Stream: domain.RoomStream(room), Version: 3, Type: typ,
				Data: []byte(`{}`), Metadata: []byte(`{}`), RecordedAt: time.Now().UTC()}
			payload, err := e.Decode()
			if err != nil {
				t.Fatal(err)
			}
			withCalls, withUps := applyOnce(t, p, e, payload)
			nilCalls, nilUps := applyOnce(t, p, e, nil)
			same := reflect.DeepEqual(withCalls, nilCalls) && reflect.DeepEqual(withUps, nilUps)
			if !sel.Reads(typ) && !same {
				t.Errorf("%s folds %s (%v, %v) but does not read it", p.Name(), typ, withCalls, withUps)
			}
			if sel.Reads(typ) && same {
				t.Errorf("%s reads %s but its payload changes nothing", p.Name(), typ)
			}
			if sparse, ok := p.(projections.Sparse); ok && !sparse.Folds(typ) && (len(withCalls) > 0 || len(withUps) > 0) {
				t.Errorf("%s does not fold %s but wrote %v, updated %v", p.Name(), typ, withCalls, withUps)
			}
		}
	}
}
