package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// The payloads are a small binary format rather than JSON: JSON would
// re-encode the events' Data and Metadata (encoding/json compacts and
// HTML-escapes a RawMessage), and those bytes must stay exactly the ones
// that were hashed. It is also several times faster (BenchmarkBatchCodec).
// The first byte names the format, so it can evolve.
const (
	formatBatch   byte = 0xB1
	formatUpdates byte = 0xA1
	formatSignals byte = 0x51
)

// maxEntries bounds a decoded count, so a corrupt length cannot make the
// decoder allocate gigabytes.
const maxEntries = 1 << 20

var errTruncated = errors.New("truncated")

// EncodeBatch encodes log events as one bus message payload.
func EncodeBatch(events []domain.Event) []byte {
	size := 8
	for i := range events {
		e := &events[i]
		size += 64 + len(e.Stream) + len(e.Type) + len(e.Data) + len(e.Metadata) + len(e.PrevHash) + len(e.Hash)
	}
	b := make([]byte, 0, size)
	b = append(b, formatBatch)
	b = binary.AppendUvarint(b, uint64(len(events)))
	for i := range events {
		e := &events[i]
		b = binary.AppendVarint(b, e.Position)
		b = binary.AppendUvarint(b, e.TxID)
		b = append(b, e.ID[:]...)
		b = appendBytes(b, []byte(e.Stream))
		b = binary.AppendVarint(b, e.Version)
		b = appendBytes(b, []byte(e.Type))
		b = appendBytes(b, e.Data)
		b = appendBytes(b, e.Metadata)
		b = appendTime(b, e.RecordedAt)
		b = appendBytes(b, e.PrevHash)
		b = appendBytes(b, e.Hash)
	}
	return b
}

// DecodeBatch decodes a payload written by EncodeBatch. The events' byte
// fields share p's memory, so p must not be modified afterwards.
func DecodeBatch(p []byte) ([]domain.Event, error) {
	r := reader{b: p}
	n := r.header(formatBatch)
	if r.err != nil {
		return nil, fmt.Errorf("decode batch: %w", r.err)
	}
	events := make([]domain.Event, n)
	for i := range events {
		e := &events[i]
		e.Position = r.varint()
		e.TxID = r.uvarint()
		e.ID = r.uuid()
		e.Stream = string(r.bytes())
		e.Version = r.varint()
		e.Type = string(r.bytes())
		e.Data = r.bytes()
		e.Metadata = r.bytes()
		e.RecordedAt = r.time()
		e.PrevHash = r.bytes()
		e.Hash = r.bytes()
		if r.err != nil {
			return nil, fmt.Errorf("decode batch: event %d of %d: %w", i, n, r.err)
		}
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("decode batch: %d trailing bytes", len(r.b))
	}
	return events, nil
}

// EncodeUpdates encodes projected updates as one bus message payload.
func EncodeUpdates(updates []projections.Update) []byte {
	size := 8
	for i := range updates {
		size += 64 + len(updates[i].Frame)
	}
	b := make([]byte, 0, size)
	b = append(b, formatUpdates)
	b = binary.AppendUvarint(b, uint64(len(updates)))
	for i := range updates {
		u := &updates[i]
		b = append(b, byte(u.Kind))
		b = append(b, u.Room[:]...)
		b = binary.AppendVarint(b, u.Seq)
		b = append(b, u.User[:]...)
		b = append(b, u.Session[:]...)
		b = appendBytes(b, u.Frame)
	}
	return b
}

// DecodeUpdates decodes a payload written by EncodeUpdates; frames share
// p's memory.
func DecodeUpdates(p []byte) ([]projections.Update, error) {
	r := reader{b: p}
	n := r.header(formatUpdates)
	if r.err != nil {
		return nil, fmt.Errorf("decode updates: %w", r.err)
	}
	updates := make([]projections.Update, n)
	for i := range updates {
		u := &updates[i]
		u.Kind = projections.UpdateKind(r.u8())
		u.Room = r.uuid()
		u.Seq = r.varint()
		u.User = r.uuid()
		u.Session = r.uuid()
		u.Frame = r.bytes()
		if r.err != nil {
			return nil, fmt.Errorf("decode updates: update %d of %d: %w", i, n, r.err)
		}
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("decode updates: %d trailing bytes", len(r.b))
	}
	return updates, nil
}

// Signal is an ephemeral notice for a room's subscribers (typing): never
// stored, lost when nobody listens.
type Signal struct {
	Room  uuid.UUID
	User  uuid.UUID
	Frame []byte // the PROTOCOL.md frame, already encoded
}

func encodeSignal(s Signal) []byte {
	b := make([]byte, 0, 40+len(s.Frame))
	b = append(b, formatSignals)
	b = append(b, s.Room[:]...)
	b = append(b, s.User[:]...)
	return appendBytes(b, s.Frame)
}

func decodeSignal(p []byte) (Signal, error) {
	r := reader{b: p}
	if f := r.u8(); r.err == nil && f != formatSignals {
		return Signal{}, fmt.Errorf("decode signal: format %#x", f)
	}
	s := Signal{Room: r.uuid(), User: r.uuid(), Frame: r.bytes()}
	if r.err != nil {
		return Signal{}, fmt.Errorf("decode signal: %w", r.err)
	}
	return s, nil
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// appendTime writes a flag (so the zero time survives) and Unix nanoseconds;
// decoded times are UTC, like the log's.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return binary.AppendVarint(append(b, 1), t.UnixNano())
}

// reader decodes; the first error sticks and later reads return zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) header(format byte) int {
	if f := r.u8(); r.err == nil && f != format {
		r.fail(fmt.Errorf("format %#x, want %#x", f, format))
	}
	n := r.uvarint()
	// Every entry takes at least one byte, which bounds a corrupt count.
	if n > maxEntries || n > uint64(len(r.b)) {
		r.fail(fmt.Errorf("count %d too large", n))
	}
	return int(n)
}

func (r *reader) u8() byte {
	if len(r.b) < 1 {
		r.fail(errTruncated)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(errTruncated)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(errTruncated)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uuid() uuid.UUID {
	var id uuid.UUID
	if len(r.b) < len(id) {
		r.fail(errTruncated)
		return id
	}
	copy(id[:], r.b)
	r.b = r.b[len(id):]
	return id
}

// bytes returns the next length-prefixed field (nil when empty), sharing
// the input's memory; the capacity is clipped so appends never overwrite
// the next field.
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail(errTruncated)
		return nil
	}
	if n == 0 {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) time() time.Time {
	if r.u8() == 0 {
		return time.Time{}
	}
	ns := r.varint()
	if r.err != nil {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
