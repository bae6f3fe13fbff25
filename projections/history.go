package projections

import (
	"context"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// Message is a message as the history read model serves it.
type Message struct {
	ID       uuid.UUID      `json:"id"`
	Room     uuid.UUID      `json:"room"`
	Seq      int64          `json:"seq"`
	Author   domain.UserRef `json:"author"`
	Body     string         `json:"body"`
	ClientID uuid.UUID      `json:"client_id"`
	SentAt   Timestamp      `json:"sent_at"`
	EditedAt *Timestamp     `json:"edited_at"`
	Deleted  bool           `json:"deleted"`
}

// HistoryWriter is the history read model's write port.
type HistoryWriter interface {
	// InsertRoomEvent stores a room event's encoded frame under (room, seq),
	// for replays; inserting an existing (room, seq) changes nothing.
	InsertRoomEvent(ctx context.Context, room uuid.UUID, seq int64, frame []byte) error
	InsertMessage(ctx context.Context, m Message) error
	EditMessage(ctx context.Context, room, id uuid.UUID, body string, at time.Time) error
	// DeleteMessage tombstones a message: it keeps its place, its body is
	// emptied and removed from the search index.
	DeleteMessage(ctx context.Context, room, id uuid.UUID) error
}

// History is the room timeline: every room event by (room, seq), messages
// folded with their edits and tombstones, and the search index. It is the
// only publisher of room `event` frames, so each room's frames leave in seq
// order.
type History struct{}

func (History) Name() string { return "history" }
func (History) Version() int { return 1 }

func (History) Apply(ctx context.Context, tx Tx, e *domain.Event, p domain.Payload) ([]Update, error) {
	room, ok := domain.RoomIDFromStream(e.Stream)
	if !ok || domain.ProtocolKind(e.Type) == "" {
		return nil, nil
	}
	w := HistoryWriter(tx)
	frame, err := EncodeEventFrame(e, p)
	if err != nil {
		return nil, err
	}
	if err := w.InsertRoomEvent(ctx, room, e.Version, frame); err != nil {
		return nil, err
	}
	switch ev := p.(type) {
	case *domain.MessagePosted:
		err = w.InsertMessage(ctx, Message{ID: ev.MessageID, Room: room, Seq: e.Version, Author: ev.Author,
			Body: ev.Body, ClientID: ev.ClientID, SentAt: Timestamp(e.RecordedAt)})
	case *domain.MessageEdited:
		err = w.EditMessage(ctx, room, ev.MessageID, ev.Body, e.RecordedAt)
	case *domain.MessageDeleted:
		err = w.DeleteMessage(ctx, room, ev.MessageID)
	}
	if err != nil {
		return nil, err
	}
	return []Update{{Kind: UpdateRoomEvent, Room: room, Seq: e.Version, Frame: frame, Cause: CauseOf(p)}}, nil
}
