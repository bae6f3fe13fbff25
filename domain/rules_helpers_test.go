package domain_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chatlog/chat/domain"
)

// now is the fixed clock every decision in these tables runs at.
var now = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// rule is one line of the chat's rule book: given these events happened,
// when this command runs, then these events follow, or this error code.
// A rule with neither then nor code says the command changes nothing.
type rule struct {
	name  string
	given []domain.Payload
	when  domain.Command
	then  []domain.Payload
	code  domain.Code
}

// replay folds events the way the store does: each event sees only the keys
// StateKeysOf names, and its changes are written back to a key/value table,
// and each event bumps the head of its stream.
func replay(tb testing.TB, events []domain.Payload) (map[string][]byte, map[string]int64) {
	tb.Helper()
	values := map[string][]byte{}
	heads := map[string]int64{}
	for _, p := range events {
		s := domain.NewState(nil, nil)
		for _, k := range domain.StateKeysOf(p) {
			s.Load(k, values[k])
		}
		domain.Evolve(s, p)
		keys, vals := s.Dirty()
		for i, k := range keys {
			values[k] = vals[i]
		}
		heads[streamOf(tb, p)]++
	}
	return values, heads
}

// given returns the state a store would hold after events were appended.
func given(tb testing.TB, events ...domain.Payload) *domain.State {
	tb.Helper()
	values, heads := replay(tb, events)
	return domain.NewState(values, heads)
}

// givenKeysOnly returns the state a store would load for cmd: only the keys
// it names and the heads of the streams it locks.
func givenKeysOnly(tb testing.TB, cmd domain.Command, events ...domain.Payload) *domain.State {
	tb.Helper()
	values, heads := replay(tb, events)
	s := domain.NewState(nil, nil)
	for _, k := range cmd.Keys() {
		s.Load(k, values[k])
	}
	for _, name := range cmd.Streams() {
		s.SetHead(name, heads[name])
	}
	return s
}

// when runs cmd's decision at the fixed time.
func when(s *domain.State, cmd domain.Command) ([]domain.NewEvent, error) {
	return cmd.Decide(s, now)
}

// check runs every rule, and for each also checks what the store relies on:
// the decision reads only the keys the command names, and every event goes
// to its own stream, which the command locks.
func check(t *testing.T, rules []rule) {
	t.Helper()
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			got, err := when(given(t, r.given...), r.when)
			then(t, r.when, got, err, r.then, r.code)

			narrow, narrowErr := when(givenKeysOnly(t, r.when, r.given...), r.when)
			if domain.ErrorCode(narrowErr) != domain.ErrorCode(err) || !reflect.DeepEqual(narrow, got) {
				t.Errorf("decision differs when only Keys() are loaded: got %s / %v, want %s / %v",
					describe(payloads(narrow)), narrowErr, describe(payloads(got)), err)
			}
		})
	}
}

// then compares a decision with the expected events or error code.
func then(t *testing.T, cmd domain.Command, got []domain.NewEvent, err error, want []domain.Payload, code domain.Code) {
	t.Helper()
	if c := domain.ErrorCode(err); c != code {
		t.Fatalf("error code = %q (%v), want %q", c, err, code)
	}
	if err != nil {
		if got != nil {
			t.Errorf("events returned beside an error: %s", describe(payloads(got)))
		}
		return
	}
	if gotP := payloads(got); !reflect.DeepEqual(gotP, want) && (len(gotP) != 0 || len(want) != 0) {
		t.Fatalf("events:\n got  %s\n want %s", describe(gotP), describe(want))
	}
	locked := cmd.Streams()
	for _, e := range got {
		if want := streamOf(t, e.Payload); e.Stream != want {
			t.Errorf("%s appended to %s, want %s", e.Payload.EventType(), e.Stream, want)
		}
		if !slices.Contains(locked, e.Stream) {
			t.Errorf("%s appended to %s, which the command does not lock (%v)", e.Payload.EventType(), e.Stream, locked)
		}
	}
}

func payloads(events []domain.NewEvent) []domain.Payload {
	var out []domain.Payload
	for _, e := range events {
		out = append(out, e.Payload)
	}
	return out
}

// describe renders payloads as Type{json} so a failing rule reads well.
func describe(ps []domain.Payload) string {
	if len(ps) == 0 {
		return "(nothing)"
	}
	var parts []string
	for _, p := range ps {
		b, err := json.Marshal(p)
		if err != nil {
			b = []byte(err.Error())
		}
		parts = append(parts, p.EventType()+string(b))
	}
	return strings.Join(parts, ", ")
}

// streamOf says on which stream each event type belongs.
func streamOf(tb testing.TB, p domain.Payload) string {
	tb.Helper()
	switch e := p.(type) {
	case *domain.UserRegistered:
		return domain.UserStream(e.UserID)
	case *domain.UserApproved:
		return domain.UserStream(e.UserID)
	case *domain.UserRejected:
		return domain.UserStream(e.UserID)
	case *domain.UserDeactivated:
		return domain.UserStream(e.UserID)
	case *domain.RoleGranted:
		return domain.UserStream(e.UserID)
	case *domain.SessionStarted:
		return domain.UserStream(e.UserID)
	case *domain.SessionEnded:
		return domain.UserStream(e.UserID)
	case *domain.ReadMarkerMoved:
		return domain.UserStream(e.UserID)
	case *domain.UserConnected:
		return domain.UserStream(e.UserID)
	case *domain.UserDisconnected:
		return domain.UserStream(e.UserID)
	case *domain.RoomCreated:
		return domain.RoomStream(e.RoomID)
	case *domain.MemberJoined:
		return domain.RoomStream(e.RoomID)
	case *domain.MemberLeft:
		return domain.RoomStream(e.RoomID)
	case *domain.MessagePosted:
		return domain.RoomStream(e.RoomID)
	case *domain.MessageEdited:
		return domain.RoomStream(e.RoomID)
	case *domain.MessageDeleted:
		return domain.RoomStream(e.RoomID)
	case *domain.NodeStarted:
		return domain.NodeStream(e.Node)
	case *domain.NodeStopped:
		return domain.NodeStream(e.Node)
	case *domain.LogSealed:
		return domain.SealStream
	}
	tb.Fatalf("no stream known for %T", p)
	return ""
}

// Fixtures: people and rooms are named, and their ids derive from the name.

func id(name string) uuid.UUID       { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)) }
func ptr(u uuid.UUID) *uuid.UUID     { return &u }
func ref(name string) domain.UserRef { return domain.UserRef{ID: id(name), Username: name} }

func with(lists ...[]domain.Payload) []domain.Payload { return slices.Concat(lists...) }

func registered(name string) *domain.UserRegistered {
	return &domain.UserRegistered{UserID: id(name), Username: name}
}

func pending(name string) []domain.Payload { return []domain.Payload{registered(name)} }

func approved(name string) []domain.Payload {
	return []domain.Payload{registered(name), &domain.UserApproved{UserID: id(name)}}
}

func admin(name string) []domain.Payload {
	return append(approved(name), &domain.RoleGranted{UserID: id(name), Role: domain.RoleAdmin})
}

func rejected(name string) []domain.Payload {
	return []domain.Payload{registered(name), &domain.UserRejected{UserID: id(name)}}
}

func deactivated(name string) []domain.Payload {
	return append(approved(name), &domain.UserDeactivated{UserID: id(name)})
}

func session(user, sid string) *domain.SessionStarted {
	return &domain.SessionStarted{SessionID: id(sid), UserID: id(user), ExpiresAt: now.Add(time.Hour)}
}

func room(kind domain.RoomKind, name, creator string) []domain.Payload {
	return []domain.Payload{
		&domain.RoomCreated{RoomID: id(name), Name: name, Kind: kind},
		joined(name, creator),
	}
}

func direct(a, b string) []domain.Payload {
	name := a + ", " + b
	return []domain.Payload{
		&domain.RoomCreated{RoomID: id(name), Name: name, Kind: domain.RoomDirect, Direct: []uuid.UUID{id(a), id(b)}},
		joined(name, a), joined(name, b),
	}
}

func joined(roomName, user string) *domain.MemberJoined {
	return &domain.MemberJoined{RoomID: id(roomName), User: ref(user)}
}

func left(roomName, user string) *domain.MemberLeft {
	return &domain.MemberLeft{RoomID: id(roomName), User: ref(user)}
}

func posted(roomName, msg, author string) *domain.MessagePosted {
	return &domain.MessagePosted{RoomID: id(roomName), MessageID: id(msg), ClientID: id("client " + msg),
		Author: ref(author), Body: fmt.Sprintf("%s says %s", author, msg)}
}

// world is the chat most rules start from: root administers; alice, bob
// and carol are approved; pat waits, rex was rejected, dee deactivated.
// alice made the public lobby (bob joined) and the private den; alice and
// bob share a direct room.
func world() []domain.Payload {
	return with(admin("root"), approved("alice"), approved("bob"), approved("carol"),
		pending("pat"), rejected("rex"), deactivated("dee"),
		room(domain.RoomPublic, "lobby", "alice"), []domain.Payload{joined("lobby", "bob")},
		room(domain.RoomPrivate, "den", "alice"),
		direct("alice", "bob"))
}
