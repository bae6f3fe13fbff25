package ws

import (
	"context"
	"errors"
	"testing"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

type stubRooms map[uuid.UUID]projections.Room

func (s stubRooms) Room(_ context.Context, id, _ uuid.UUID) (projections.Room, error) {
	r, ok := s[id]
	if !ok {
		return r, domain.Errorf(domain.CodeNotFound, "no such room")
	}
	if r.Name == "broken" {
		return r, errors.New("disk on fire")
	}
	return r, nil
}

func (s stubRooms) RoomsFor(context.Context, uuid.UUID) ([]projections.Room, error) {
	var out []projections.Room
	for _, r := range s {
		out = append(out, r)
	}
	return out, nil
}

func TestRoomsFromReadModel(t *testing.T) {
	joined, public, broken := uuid.New(), uuid.New(), uuid.New()
	rooms := RoomsFromReadModel(stubRooms{
		joined: {ID: joined, Kind: domain.RoomPrivate, Member: true, Head: 42},
		public: {ID: public, Kind: domain.RoomPublic},
		broken: {ID: broken, Name: "broken", Member: true},
	})
	ctx, user := context.Background(), uuid.New()
	cases := []struct {
		room uuid.UUID
		head int64
		code domain.Code
	}{
		{joined, 42, ""},
		{public, 0, domain.CodeForbidden},
		{uuid.New(), 0, domain.CodeNotFound},
		{broken, 0, domain.CodeInternal},
	}
	for _, tc := range cases {
		head, err := rooms.Access(ctx, tc.room, user)
		if head != tc.head || domain.ErrorCode(err) != tc.code {
			t.Errorf("Access(%v) = %d, %v; want %d, %q", tc.room, head, err, tc.head, tc.code)
		}
	}
	ids, err := rooms.RoomsOf(ctx, user)
	if err != nil || len(ids) != 2 {
		t.Fatalf("RoomsOf = %v, %v; want the 2 rooms with membership", ids, err)
	}
}

// memberRooms answers MemberRooms itself, as both stores do.
type memberRooms struct {
	stubRooms
	ids []uuid.UUID
}

func (m memberRooms) MemberRooms(context.Context, uuid.UUID) ([]uuid.UUID, error) { return m.ids, nil }

func TestRoomsOfAsksTheCheaperQuestion(t *testing.T) {
	want := []uuid.UUID{uuid.New()}
	// RoomsFor would list this room: the answer must come from MemberRooms.
	r := memberRooms{stubRooms: stubRooms{uuid.New(): {Member: true}}, ids: want}
	got, err := RoomsFromReadModel(r).RoomsOf(context.Background(), uuid.New())
	if err != nil || len(got) != 1 || got[0] != want[0] {
		t.Errorf("RoomsOf = %v, %v; want %v from MemberRooms", got, err, want)
	}
}
