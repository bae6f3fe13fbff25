package domain

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"time"
)

// HashSize is the length of an event hash (SHA-256).
const HashSize = sha256.Size

// ZeroHash is the prev_hash of every stream's first event.
var ZeroHash = make([]byte, HashSize)

// ChainHash computes an event's hash from the previous event's hash in the
// same stream and the event's recorded fields:
//
//	SHA-256(prev_hash ‖ len‖stream ‖ version ‖ len‖type ‖ len‖data ‖ len‖metadata ‖ recorded_at_ms)
//
// Every variable-length field is length-prefixed so no two different events
// share an encoding. Data and metadata are the stored bytes, never re-encoded.
func ChainHash(prev []byte, stream string, version int64, eventType string, data, metadata []byte, recordedAt time.Time) []byte {
	h := sha256.New()
	h.Write(prev)
	writeField(h, []byte(stream))
	writeInt(h, version)
	writeField(h, []byte(eventType))
	writeField(h, data)
	writeField(h, metadata)
	writeInt(h, recordedAt.UnixMilli())
	return h.Sum(nil)
}

// VerifyHash recomputes e's hash from its own fields and prev.
func (e *Event) VerifyHash(prev []byte) bool {
	want := ChainHash(prev, e.Stream, e.Version, e.Type, e.Data, e.Metadata, e.RecordedAt)
	return string(want) == string(e.Hash) && string(prev) == string(e.PrevHash)
}

func writeField(h hash.Hash, b []byte) {
	writeInt(h, int64(len(b)))
	h.Write(b)
}

func writeInt(h hash.Hash, v int64) {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(v))
	h.Write(buf[:])
}
