package postgres

import (
	"bytes"
	"context"
	"testing"

	"github.com/chatlog/chat/adapters/eventstore/storetest"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// TestReadRebuildMatchesReadAll: the rebuild read returns ReadAll's events,
// field for field but the ones folds do not use, page after page.
func TestReadRebuildMatchesReadAll(t *testing.T) {
	db := mustOpen(t)
	s := storetest.NewStore(t, db)
	ctx := context.Background()
	rooms := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for i := range 7 {
		batch := []domain.NewEvent{message(rooms[i%3]), message(rooms[(i+1)%3])}
		if _, err := s.Append(ctx, domain.Metadata{ActorID: uuid.NewString(), ActorName: "alice", Node: "n1"}, batch...); err != nil {
			t.Fatal(err)
		}
	}
	var after domain.Cursor
	seen := 0
	for {
		want, err := db.ReadAll(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.ReadRebuild(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("after %s: %d events, ReadAll %d", after, len(got), len(want))
		}
		if len(got) == 0 {
			break
		}
		for i := range want {
			w := want[i]
			w.ID, w.PrevHash, w.Hash = uuid.Nil, nil, nil
			if !sameEvent(got[i], w) {
				t.Errorf("event %d:\n got %+v\nwant %+v", seen+i, got[i], w)
			}
		}
		seen += len(got)
		after = got[len(got)-1].Cursor()
	}
	if seen != 14 {
		t.Errorf("read %d events, want 14", seen)
	}
}

func sameEvent(a, b domain.Event) bool {
	return a.Position == b.Position && a.TxID == b.TxID && a.ID == b.ID && a.Stream == b.Stream &&
		a.Version == b.Version && a.Type == b.Type && string(a.Data) == string(b.Data) &&
		string(a.Metadata) == string(b.Metadata) && a.RecordedAt.Equal(b.RecordedAt) &&
		a.RecordedAt.Location() == b.RecordedAt.Location() && bytes.Equal(a.PrevHash, b.PrevHash) &&
		bytes.Equal(a.Hash, b.Hash)
}
