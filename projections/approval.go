package projections

import (
	"context"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// ApprovalWriter is the approval read model's write port.
type ApprovalWriter interface {
	// InsertUser adds a pending user; inserting a known id again changes nothing.
	InsertUser(ctx context.Context, id uuid.UUID, username string, createdAt time.Time) error
	SetUserStatus(ctx context.Context, id uuid.UUID, status domain.UserStatus) error
	AddUserRole(ctx context.Context, id uuid.UUID, role string) error
}

// Approval is the users read model: status and roles, serving log-in checks
// of other nodes, the admin pages and the user list.
type Approval struct{}

func (Approval) Name() string { return "approval" }
func (Approval) Version() int { return 1 }

// Folds is Reads (Sparse): the events it does not read change nothing.
func (p Approval) Folds(eventType string) bool { return p.Reads(eventType) }

// Reads lists the payloads Apply looks at (Selective).
func (Approval) Reads(eventType string) bool {
	switch eventType {
	case "UserRegistered", "UserApproved", "UserRejected", "UserDeactivated", "RoleGranted", "SessionEnded":
		return true
	}
	return false
}

func (Approval) Apply(ctx context.Context, tx Tx, e *domain.Event, p domain.Payload) ([]Update, error) {
	switch ev := p.(type) {
	case *domain.UserRegistered:
		return nil, tx.InsertUser(ctx, ev.UserID, ev.Username, e.RecordedAt)
	case *domain.UserApproved:
		return nil, tx.SetUserStatus(ctx, ev.UserID, domain.StatusApproved)
	case *domain.UserRejected:
		return nil, tx.SetUserStatus(ctx, ev.UserID, domain.StatusRejected)
	case *domain.UserDeactivated:
		err := tx.SetUserStatus(ctx, ev.UserID, domain.StatusDeactivated)
		return []Update{{Kind: UpdateUserDeactivated, User: ev.UserID}}, err
	case *domain.RoleGranted:
		return nil, tx.AddUserRole(ctx, ev.UserID, ev.Role)
	case *domain.SessionEnded:
		return []Update{{Kind: UpdateSessionEnded, User: ev.UserID, Session: ev.SessionID}}, nil
	}
	return nil, nil
}
