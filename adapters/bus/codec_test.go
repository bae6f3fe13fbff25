package bus

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

func sampleEvents(n int) []domain.Event {
	events := make([]domain.Event, n)
	for i := range events {
		events[i] = domain.Event{
			Position: int64(1000 + i), TxID: uint64(77 + i/10), ID: uuid.New(),
			Stream: "room-" + uuid.NewString(), Version: int64(i + 1), Type: "MessagePosted",
			// Bytes JSON re-encoding would change: HTML characters, spacing.
			Data:       json.RawMessage(`{"body": "<b>hi</b> & bye", "n":1}`),
			Metadata:   json.RawMessage(`{"actor_id":"x"}`),
			RecordedAt: time.UnixMilli(1700000000000 + int64(i)).UTC(),
			PrevHash:   []byte{1, 2, 3}, Hash: []byte{4, 5, 6, byte(i)},
		}
	}
	return events
}

func TestBatchRoundTripKeepsExactBytes(t *testing.T) {
	events := sampleEvents(50)
	events[0].PrevHash = nil // a stream's first event
	events[1].RecordedAt = time.Time{}
	got, err := DecodeBatch(EncodeBatch(events))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, events) {
		t.Fatalf("round trip changed the events:\n got %+v\nwant %+v", got[:2], events[:2])
	}
	if got, err := DecodeBatch(EncodeBatch(nil)); err != nil || len(got) != 0 {
		t.Fatalf("empty batch: %v %v", got, err)
	}
}

func TestDecodeBatchRejectsCorruptInput(t *testing.T) {
	good := EncodeBatch(sampleEvents(3))
	for name, p := range map[string][]byte{
		"empty":        nil,
		"json":         []byte(`[{"Position":1}]`),
		"truncated":    good[:len(good)-3],
		"trailing":     append(append([]byte{}, good...), 9),
		"huge count":   {formatBatch, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"wrong format": EncodeUpdates([]projections.Update{{Kind: 1}}),
	} {
		if _, err := DecodeBatch(p); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestUpdatesAndSignalRoundTrip(t *testing.T) {
	updates := []projections.Update{
		{Kind: projections.UpdateRoomEvent, Room: uuid.New(), Seq: 42, Frame: []byte(`{"type":"event"}`)},
		{Kind: projections.UpdateSessionEnded, User: uuid.New(), Session: uuid.New()},
	}
	got, err := DecodeUpdates(EncodeUpdates(updates))
	if err != nil || !reflect.DeepEqual(got, updates) {
		t.Fatalf("updates round trip: %+v, %v", got, err)
	}
	s := Signal{Room: uuid.New(), User: uuid.New(), Frame: []byte(`{"type":"typing"}`)}
	gs, err := decodeSignal(encodeSignal(s))
	if err != nil || !reflect.DeepEqual(gs, s) {
		t.Fatalf("signal round trip: %+v, %v", gs, err)
	}
	if _, err := decodeSignal([]byte("x")); err == nil || !strings.Contains(err.Error(), "format") {
		t.Fatalf("bad signal: %v", err)
	}
}

func BenchmarkBatchEncode(b *testing.B) {
	events := sampleEvents(256)
	b.ReportAllocs()
	for b.Loop() {
		_ = EncodeBatch(events)
	}
	b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkBatchDecode(b *testing.B) {
	p := EncodeBatch(sampleEvents(256))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBatch(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkBatchJSON is the alternative the binary format was measured
// against (and JSON would not keep Data's bytes exactly).
func BenchmarkBatchJSON(b *testing.B) {
	events := sampleEvents(256)
	b.ReportAllocs()
	for b.Loop() {
		p, err := json.Marshal(events)
		if err != nil {
			b.Fatal(err)
		}
		var back []domain.Event
		if err := json.Unmarshal(p, &back); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "events/s")
}
