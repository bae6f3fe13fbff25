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

func (s stubRooms) Membership(_ context.Context, id, _ uuid.UUID) (int64, bool, error) {
	r, ok := s[id]
	if !ok {
		return 0, false, domain.Errorf(domain.CodeNotFound, "no such room")
	}
	if r.Name == "broken" {
		return 0, false, errors.New("disk on fire")
	}
	return r.Head, r.Member, nil
}

func (s stubRooms) MemberRooms(context.Context, uuid.UUID) ([]uuid.UUID, error) {
	var out []uuid.UUID
	for id, r := range s {
		if r.Member {
			out = append(out, id)
		}
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
