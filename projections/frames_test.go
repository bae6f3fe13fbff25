package projections

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// frameCase is a room event and its payload, for the frame tests.
func frameCase(tb testing.TB, p domain.Payload, meta domain.Metadata) (*domain.Event, domain.Payload) {
	tb.Helper()
	data, err := domain.EncodePayload(p)
	if err != nil {
		tb.Fatal(err)
	}
	md, err := json.Marshal(meta)
	if err != nil {
		tb.Fatal(err)
	}
	e := &domain.Event{Stream: domain.RoomStream(uuid.MustParse("0192f3a4-5b6c-7d8e-9f00-112233445566")), Version: 42,
		Type: p.EventType(), Data: data, Metadata: md, RecordedAt: time.UnixMilli(1_764_000_000_123).UTC()}
	return e, p
}

func BenchmarkEncodeEventFrame(b *testing.B) {
	actor := uuid.New()
	e, p := frameCase(b, &domain.MessagePosted{RoomID: uuid.New(), MessageID: uuid.New(), ClientID: uuid.New(),
		Author: domain.UserRef{ID: actor, Username: "ada"}, Body: "hello, this is a chat message of ordinary length"},
		domain.Metadata{ActorID: actor.String(), ActorName: "ada", ClientAddr: "127.0.0.1", Node: "n1", Correlation: "r-1"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeEventFrame(e, p); err != nil {
			b.Fatal(err)
		}
	}
}

// reflectFrame is the frame as json.Marshal writes it from EventFrame: the
// reference appendEventFrame must match byte for byte, so frames written
// before and after it are the same.
func reflectFrame(t *testing.T, room uuid.UUID, seq int64, kind string, at time.Time, actor *domain.UserRef, p domain.Payload) []byte {
	t.Helper()
	f := EventFrame{Type: "event", Room: room, Seq: seq, Kind: kind, At: Timestamp(at), Actor: actor}
	switch ev := p.(type) {
	case *domain.RoomCreated:
		f.Data = roomCreatedData{Name: ev.Name, Kind: ev.Kind}
	case *domain.MemberJoined:
		f.Data = memberData{User: ev.User}
	case *domain.MemberLeft:
		f.Data = memberData{User: ev.User}
	case *domain.MessagePosted:
		f.Data = postedData{ID: ev.MessageID, Body: ev.Body, ClientID: ev.ClientID}
	case *domain.MessageEdited:
		f.Data = editedData{ID: ev.MessageID, Body: ev.Body}
	case *domain.MessageDeleted:
		f.Data = deletedData{ID: ev.MessageID}
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var trickyStrings = []string{
	"", "plain", `quote " and backslash \`, "<script>alert('x')</script> & co",
	"tab\tnew\nline\rcr\bback\fform", "\x00\x01\x1f\x7f", "line\u2028para\u2029end",
	"invalid \xff\xfe utf-8 \xc3", "émoji 😀 中文", "\u00e9\u0301",
}

func TestEventFrameMatchesJSON(t *testing.T) {
	room, id, client := uuid.New(), uuid.New(), uuid.New()
	at := time.Date(2026, 11, 29, 6, 30, 1, 234_567_890, time.FixedZone("x", 3600))
	for _, s := range trickyStrings {
		user := domain.UserRef{ID: uuid.New(), Username: s}
		for _, p := range []domain.Payload{
			&domain.RoomCreated{RoomID: room, Name: s, Kind: domain.RoomKind(s)},
			&domain.MemberJoined{RoomID: room, User: user},
			&domain.MemberLeft{RoomID: room, User: user},
			&domain.MessagePosted{RoomID: room, MessageID: id, ClientID: client, Author: user, Body: s},
			&domain.MessageEdited{RoomID: room, MessageID: id, Body: s},
			&domain.MessageDeleted{RoomID: room, MessageID: id},
		} {
			for _, actor := range []*domain.UserRef{nil, &user} {
				kind := domain.ProtocolKind(p.EventType())
				want := reflectFrame(t, room, 7, kind, at, actor, p)
				got, err := appendEventFrame(nil, room, 7, kind, at, actor, p)
				if err != nil || string(got) != string(want) {
					t.Fatalf("%s with %q:\n got %s (%v)\nwant %s", p.EventType(), s, got, err, want)
				}
			}
		}
	}
	if _, err := appendEventFrame(nil, room, 1, "x", at, nil, &domain.NodeStarted{Node: "n"}); err == nil {
		t.Error("a node event encoded as a room frame")
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
