package platform

// TEMPORARY while adapters/sqlite gains its read models; never committed.

import (
	"context"
	"errors"

	"github.com/chatlog/chat/adapters/httpapi"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

var errPending = errors.New("pending")

func (r sqliteReads) Directory(ctx context.Context) ([]httpapi.Person, error) { return nil, errPending }
func (r sqliteReads) Messages(ctx context.Context, room uuid.UUID, p httpapi.Page) ([]projections.Message, bool, error) {
	return nil, false, errPending
}
func (r sqliteReads) RoomsFor(ctx context.Context, user uuid.UUID) ([]projections.Room, error) {
	return nil, errPending
}
func (r sqliteReads) Room(ctx context.Context, id, user uuid.UUID) (projections.Room, error) {
	return projections.Room{}, errPending
}
func (r sqliteReads) Members(ctx context.Context, room uuid.UUID) ([]projections.Member, error) {
	return nil, errPending
}
func (r sqliteReads) Search(ctx context.Context, user uuid.UUID, q string, room uuid.UUID, limit int) ([]projections.Message, error) {
	return nil, errPending
}
func (r sqliteReads) EventsAfter(ctx context.Context, room uuid.UUID, after int64, limit int) ([]projections.RoomFrame, error) {
	return nil, errPending
}
func (r sqliteReads) OnlineNodes(ctx context.Context) ([]string, error) { return nil, errPending }
