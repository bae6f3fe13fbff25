package ws

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// BenchmarkAckFrame: the ack of a send, built from the event it recorded.
func BenchmarkAckFrame(b *testing.B) {
	room := uuid.New()
	p := &domain.MessagePosted{RoomID: room, MessageID: uuid.New(), ClientID: uuid.New(),
		Author: domain.UserRef{ID: uuid.New(), Username: "ada"}, Body: "hello, this is a chat message of ordinary length"}
	data, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	events := []domain.Event{{Stream: domain.RoomStream(room), Version: 42, Type: p.EventType(), Data: data,
		RecordedAt: time.Now().UTC()}}
	r := &request{typ: ftSend, ref: []byte("r-1"), hasRef: true, room: room, clientID: p.ClientID}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ackFrame(r, events); err != nil {
			b.Fatal(err)
		}
	}
}
