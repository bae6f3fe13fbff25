package projections

import (
	"fmt"
	"sort"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// RoomSnapshot is a room as it was at one moment, computed from the log
// alone (no read model), for auditors.
type RoomSnapshot struct {
	ID        uuid.UUID        `json:"id"`
	Name      string           `json:"name"`
	Kind      domain.RoomKind  `json:"kind"`
	At        Timestamp        `json:"at"`
	Seq       int64            `json:"seq"` // the last seq at that moment
	CreatedAt Timestamp        `json:"created_at"`
	Members   []domain.UserRef `json:"members"`
	Messages  []Message        `json:"messages"`
}

// Replay folds a room stream's events, in version order, that were recorded
// at or before at. Edits and deletions after at are not applied: messages
// have the bodies they had then.
func Replay(room uuid.UUID, events []domain.Event, at time.Time) (RoomSnapshot, error) {
	snap := RoomSnapshot{ID: room, At: Timestamp(at), Members: []domain.UserRef{}, Messages: []Message{}}
	members := map[uuid.UUID]domain.UserRef{}
	index := map[uuid.UUID]int{} // message id → position in snap.Messages
	for i := range events {
		e := &events[i]
		if e.RecordedAt.After(at) {
			break
		}
		p, err := e.Decode()
		if err != nil {
			return snap, err
		}
		snap.Seq = e.Version
		switch ev := p.(type) {
		case *domain.RoomCreated:
			snap.Name, snap.Kind, snap.CreatedAt = ev.Name, ev.Kind, Timestamp(e.RecordedAt)
		case *domain.MemberJoined:
			members[ev.User.ID] = ev.User
		case *domain.MemberLeft:
			delete(members, ev.User.ID)
		case *domain.MessagePosted:
			index[ev.MessageID] = len(snap.Messages)
			snap.Messages = append(snap.Messages, Message{ID: ev.MessageID, Room: room, Seq: e.Version,
				Author: ev.Author, Body: ev.Body, ClientID: ev.ClientID, SentAt: Timestamp(e.RecordedAt)})
		case *domain.MessageEdited:
			if j, ok := index[ev.MessageID]; ok {
				edited := Timestamp(e.RecordedAt)
				snap.Messages[j].Body, snap.Messages[j].EditedAt = ev.Body, &edited
			}
		case *domain.MessageDeleted:
			if j, ok := index[ev.MessageID]; ok {
				snap.Messages[j].Body, snap.Messages[j].Deleted = "", true
			}
		}
	}
	if snap.Seq == 0 {
		return snap, domain.Errorf(domain.CodeNotFound, "room %s did not exist at %s", room, FormatTime(at))
	}
	for _, m := range members {
		snap.Members = append(snap.Members, m)
	}
	sort.Slice(snap.Members, func(i, j int) bool { return snap.Members[i].Username < snap.Members[j].Username })
	return snap, nil
}

// String renders the snapshot for people.
func (s RoomSnapshot) String() string {
	out := fmt.Sprintf("room %s %q (%s) at %s, seq %d\nmembers:", s.ID, s.Name, s.Kind, FormatTime(time.Time(s.At)), s.Seq)
	for _, m := range s.Members {
		out += " " + m.Username
	}
	out += "\n"
	for _, m := range s.Messages {
		body := m.Body
		switch {
		case m.Deleted:
			body = "(deleted)"
		case m.EditedAt != nil:
			body += " (edited)"
		}
		out += fmt.Sprintf("%6d %s %s: %s\n", m.Seq, FormatTime(time.Time(m.SentAt)), m.Author.Username, body)
	}
	return out
}
