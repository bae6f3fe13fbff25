package domain

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
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
	// One buffer and one Sum256 rather than a hash.Hash fed field by field:
	// every append and every verified event passes here, and the streaming
	// form cost four allocations a hash (the digest, two string copies, the
	// sum) where this costs the one result.
	bp := preimages.Get().(*[]byte)
	b := append((*bp)[:0], prev...)
	b = appendField(b, stream)
	b = binary.BigEndian.AppendUint64(b, uint64(version))
	b = appendField(b, eventType)
	b = appendField(b, data)
	b = appendField(b, metadata)
	b = binary.BigEndian.AppendUint64(b, uint64(recordedAt.UnixMilli()))
	sum := sha256.Sum256(b)
	if cap(b) <= maxPooledPreimage {
		*bp = b
		preimages.Put(bp)
	}
	return sum[:]
}

// preimages pools ChainHash's buffers; one that grew past
// maxPooledPreimage (a huge event) is left to the collector.
var preimages = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledPreimage = 64 << 10

func appendField[T string | []byte](b []byte, field T) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(field)))
	return append(b, field...)
}

// VerifyHash recomputes e's hash from its own fields and prev.
func (e *Event) VerifyHash(prev []byte) bool {
	want := ChainHash(prev, e.Stream, e.Version, e.Type, e.Data, e.Metadata, e.RecordedAt)
	return string(want) == string(e.Hash) && string(prev) == string(e.PrevHash)
}
