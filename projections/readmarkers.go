package projections

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// ReadMarkersWriter is the read-marker read model's write port.
type ReadMarkersWriter interface {
	// SetReadMarker moves the user's marker in room forward; a lower seq
	// changes nothing.
	SetReadMarker(ctx context.Context, user, room uuid.UUID, seq int64) error
}

// ReadMarkers is the last read seq per user and room; unread counts derive
// from it and the history.
type ReadMarkers struct{}

func (ReadMarkers) Name() string { return "read_markers" }
func (ReadMarkers) Version() int { return 1 }

// Folds is Reads (Sparse): the events it does not read change nothing.
func (p ReadMarkers) Folds(eventType string) bool { return p.Reads(eventType) }

// Reads lists the payloads Apply looks at (Selective).
func (ReadMarkers) Reads(eventType string) bool {
	switch eventType {
	case "ReadMarkerMoved":
		return true
	}
	return false
}

func (ReadMarkers) Apply(ctx context.Context, tx Tx, e *domain.Event, p domain.Payload) ([]Update, error) {
	ev, ok := p.(*domain.ReadMarkerMoved)
	if !ok {
		return nil, nil
	}
	if err := tx.SetReadMarker(ctx, ev.UserID, ev.RoomID, ev.Seq); err != nil {
		return nil, err
	}
	frame, err := json.Marshal(ReadFrame{Type: "read", Room: ev.RoomID,
		User: domain.UserRef{ID: ev.UserID, Username: ev.Username}, Seq: ev.Seq})
	if err != nil {
		return nil, fmt.Errorf("encode read frame at position %d: %w", e.Position, err)
	}
	return []Update{{Kind: UpdateRead, Room: ev.RoomID, User: ev.UserID, Seq: ev.Seq, Frame: frame}}, nil
}
