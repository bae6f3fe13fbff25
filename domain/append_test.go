package domain_test

import (
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/chatlog/chat/domain"
)

func TestAppendExpectedVersion(t *testing.T) {
	const a, b = "stream-a", "stream-b"
	ev := func(stream string, expected int64) domain.NewEvent {
		return domain.NewEvent{Stream: stream, ExpectedVersion: expected, Payload: &domain.NodeStarted{Node: stream}}
	}
	cases := []struct {
		name   string
		heads  map[string]int64
		events []domain.NewEvent
		code   domain.Code
	}{
		{"NoStream on an empty stream", nil, []domain.NewEvent{ev(a, domain.NoStream)}, ""},
		{"NoStream on a stream with events", map[string]int64{a: 2}, []domain.NewEvent{ev(a, domain.NoStream)}, domain.CodeConflict},
		{"the exact head", map[string]int64{a: 2}, []domain.NewEvent{ev(a, 2)}, ""},
		{"a stale head", map[string]int64{a: 2}, []domain.NewEvent{ev(a, 1)}, domain.CodeConflict},
		{"a head from the future", map[string]int64{a: 2}, []domain.NewEvent{ev(a, 3)}, domain.CodeConflict},
		{"any version on an empty stream", nil, []domain.NewEvent{ev(a, domain.AnyVersion)}, ""},
		{"any version on a stream with events", map[string]int64{a: 7}, []domain.NewEvent{ev(a, domain.AnyVersion)}, ""},
		{"several events on one stream count up", nil,
			[]domain.NewEvent{ev(a, domain.NoStream), ev(a, 1), ev(a, 2)}, ""},
		{"several events on one stream from a head", map[string]int64{a: 4},
			[]domain.NewEvent{ev(a, 4), ev(a, 5)}, ""},
		{"the second event must expect the first's version", map[string]int64{a: 4},
			[]domain.NewEvent{ev(a, 4), ev(a, 4)}, domain.CodeConflict},
		{"NoStream twice on one stream", nil,
			[]domain.NewEvent{ev(a, domain.NoStream), ev(a, domain.NoStream)}, domain.CodeConflict},
		{"any version advances the count", map[string]int64{a: 1},
			[]domain.NewEvent{ev(a, domain.AnyVersion), ev(a, 2)}, ""},
		{"streams count separately", map[string]int64{b: 3},
			[]domain.NewEvent{ev(a, domain.NoStream), ev(b, 3), ev(a, 1), ev(b, 4)}, ""},
		{"a conflict on the second stream fails the whole append", map[string]int64{b: 3},
			[]domain.NewEvent{ev(a, domain.NoStream), ev(b, 2)}, domain.CodeConflict},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := domain.Append{Events: c.events}
			got, err := cmd.Decide(domain.NewState(nil, c.heads), now)
			if code := domain.ErrorCode(err); code != c.code {
				t.Fatalf("code = %q (%v), want %q", code, err, c.code)
			}
			if err == nil && !reflect.DeepEqual(got, c.events) {
				t.Fatalf("Append changed its events: %+v", got)
			}
			if err != nil && got != nil {
				t.Fatalf("events returned beside an error: %+v", got)
			}
		})
	}
}

func TestAppendLocksEveryStreamItWrites(t *testing.T) {
	cmd := domain.Append{Events: []domain.NewEvent{
		{Stream: "x", Payload: &domain.NodeStarted{Node: "x"}},
		{Stream: "y", Payload: &domain.NodeStarted{Node: "y"}},
		{Stream: "x", Payload: &domain.NodeStarted{Node: "x"}},
	}}
	streams := cmd.Streams()
	for _, want := range []string{"x", "y"} {
		if !slices.Contains(streams, want) {
			t.Errorf("Streams() = %v, missing %s", streams, want)
		}
	}
	if keys := cmd.Keys(); len(keys) != 0 {
		t.Errorf("Keys() = %v, want none", keys)
	}
}

func TestCursorOrder(t *testing.T) {
	// Commit order is by transaction first: a later transaction may hold a
	// lower position, because positions are taken before commit.
	ordered := []domain.Cursor{
		{TxID: 0, Position: 0},
		{TxID: 1, Position: 9},
		{TxID: 1, Position: 10},
		{TxID: 2, Position: 3},
		{TxID: 2, Position: 4},
		{TxID: math.MaxUint64, Position: 1},
	}
	for i := range ordered {
		for j := range ordered {
			if got, want := ordered[i].Less(ordered[j]), i < j; got != want {
				t.Errorf("%v.Less(%v) = %v, want %v", ordered[i], ordered[j], got, want)
			}
		}
	}
	shuffled := []domain.Cursor{ordered[3], ordered[5], ordered[0], ordered[4], ordered[1], ordered[2]}
	slices.SortFunc(shuffled, func(a, b domain.Cursor) int {
		if a.Less(b) {
			return -1
		}
		if b.Less(a) {
			return 1
		}
		return 0
	})
	if !slices.Equal(shuffled, ordered) {
		t.Errorf("sorted = %v, want %v", shuffled, ordered)
	}
	e := domain.Event{TxID: 5, Position: 8}
	if got := e.Cursor(); got != (domain.Cursor{TxID: 5, Position: 8}) {
		t.Errorf("Event.Cursor() = %v", got)
	}
}

func TestCursorString(t *testing.T) {
	for _, c := range []domain.Cursor{{}, {TxID: 1, Position: 2}, {TxID: math.MaxUint64, Position: math.MaxInt64}} {
		s := c.String()
		got, err := domain.ParseCursor(s)
		if err != nil || got != c {
			t.Errorf("ParseCursor(%q) = %v, %v; want %v", s, got, err, c)
		}
	}
	if got := (domain.Cursor{TxID: 12, Position: 345}).String(); got != "12:345" {
		t.Errorf("String() = %q, want 12:345", got)
	}
	for _, bad := range []string{"", "12", "12:", ":3", "a:b", "-1:2", "1:2:3", "1:2x", " 1:2", "1 :2"} {
		if c, err := domain.ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) = %v, want an error", bad, c)
		}
	}
}
