package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// PresenceWriter is the presence read model's write port. Presence is kept
// per (user, node); a user is online while any node has them.
type PresenceWriter interface {
	// SetOnline records the user on node; it reports whether the user was
	// offline before (so a presence frame is due).
	SetOnline(ctx context.Context, user domain.UserRef, node string, at time.Time) (cameOnline bool, err error)
	// SetOffline removes the user from node; it reports whether the user is
	// now offline everywhere. last_seen becomes at.
	SetOffline(ctx context.Context, user uuid.UUID, node string, at time.Time) (wentOffline bool, err error)
	// DropNode removes every user of node and returns those now offline
	// everywhere.
	DropNode(ctx context.Context, node string, at time.Time) ([]domain.UserRef, error)
}

// Presence is who is online, on which node, and when each was last seen.
type Presence struct{}

func (Presence) Name() string { return "presence" }
func (Presence) Version() int { return 1 }

// Folds is Reads (Sparse): the events it does not read change nothing.
func (p Presence) Folds(eventType string) bool { return p.Reads(eventType) }

// Reads lists the payloads Apply looks at (Selective).
func (Presence) Reads(eventType string) bool {
	switch eventType {
	case "UserConnected", "UserDisconnected", "NodeStarted", "NodeStopped":
		return true
	}
	return false
}

func (Presence) Apply(ctx context.Context, tx Tx, e *domain.Event, p domain.Payload) ([]Update, error) {
	w := PresenceWriter(tx)
	switch ev := p.(type) {
	case *domain.UserConnected:
		user := domain.UserRef{ID: ev.UserID, Username: ev.Username}
		changed, err := w.SetOnline(ctx, user, ev.Node, e.RecordedAt)
		if err != nil || !changed {
			return nil, err
		}
		return presenceUpdates(e.RecordedAt, true, user)
	case *domain.UserDisconnected:
		changed, err := w.SetOffline(ctx, ev.UserID, ev.Node, e.RecordedAt)
		if err != nil || !changed {
			return nil, err
		}
		return presenceUpdates(e.RecordedAt, false, domain.UserRef{ID: ev.UserID, Username: ev.Username})
	case *domain.NodeStopped:
		gone, err := w.DropNode(ctx, ev.Node, e.RecordedAt)
		if err != nil {
			return nil, err
		}
		return presenceUpdates(e.RecordedAt, false, gone...)
	case *domain.NodeStarted:
		// A node id reused after a crash starts with nobody online.
		gone, err := w.DropNode(ctx, ev.Node, e.RecordedAt)
		if err != nil {
			return nil, err
		}
		return presenceUpdates(e.RecordedAt, false, gone...)
	}
	return nil, nil
}

func presenceUpdates(at time.Time, online bool, users ...domain.UserRef) ([]Update, error) {
	updates := make([]Update, 0, len(users))
	for _, u := range users {
		frame, err := json.Marshal(PresenceFrame{Type: "presence", User: u, Online: online, At: Timestamp(at)})
		if err != nil {
			return nil, fmt.Errorf("encode presence frame: %w", err)
		}
		updates = append(updates, Update{Kind: UpdatePresence, User: u.ID, Frame: frame})
	}
	return updates, nil
}
