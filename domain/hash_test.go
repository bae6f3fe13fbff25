package domain_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
)

type hashInput struct {
	prev       []byte
	stream     string
	version    int64
	typ        string
	data, meta []byte
	at         time.Time
}

func (h hashInput) sum() []byte {
	return domain.ChainHash(h.prev, h.stream, h.version, h.typ, h.data, h.meta, h.at)
}

func baseHashInput() hashInput {
	return hashInput{prev: domain.ZeroHash, stream: "room-1", version: 3, typ: "MessagePosted",
		data: []byte(`{"body":"hi"}`), meta: []byte(`{"node":"n1"}`), at: time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC)}
}

func TestChainHashIsDeterministic(t *testing.T) {
	a, b := baseHashInput().sum(), baseHashInput().sum()
	if !bytes.Equal(a, b) || len(a) != domain.HashSize {
		t.Fatalf("two hashes of one event: %x, %x (size %d)", a, b, len(a))
	}
	if len(domain.ZeroHash) != domain.HashSize || !bytes.Equal(domain.ZeroHash, make([]byte, domain.HashSize)) {
		t.Fatalf("ZeroHash = %x", domain.ZeroHash)
	}
	// The time is hashed at millisecond precision, the precision it is stored at,
	// and as an instant: the zone it is expressed in does not matter.
	in := baseHashInput()
	in.at = in.at.Add(999 * time.Microsecond).In(time.FixedZone("X", 7200))
	if !bytes.Equal(in.sum(), a) {
		t.Error("sub-millisecond time or zone changed the hash")
	}
}

// The encoding is written down in ChainHash's comment and in the audit API,
// so a verifier outside this code base can recompute it; pin it to the text.
func TestChainHashMatchesDocumentedEncoding(t *testing.T) {
	in := baseHashInput()
	var buf bytes.Buffer
	putInt := func(v int64) { buf.Write(binary.BigEndian.AppendUint64(nil, uint64(v))) }
	putField := func(b []byte) { putInt(int64(len(b))); buf.Write(b) }
	buf.Write(in.prev)
	putField([]byte(in.stream))
	putInt(in.version)
	putField([]byte(in.typ))
	putField(in.data)
	putField(in.meta)
	putInt(in.at.UnixMilli())
	want := sha256.Sum256(buf.Bytes())
	if got := in.sum(); !bytes.Equal(got, want[:]) {
		t.Errorf("hash = %s, want %s", hex.EncodeToString(got), hex.EncodeToString(want[:]))
	}
}

func TestChainHashCoversEveryField(t *testing.T) {
	base := baseHashInput().sum()
	changes := map[string]func(*hashInput){
		"prev":     func(h *hashInput) { h.prev = base },
		"stream":   func(h *hashInput) { h.stream = "room-2" },
		"version":  func(h *hashInput) { h.version = 4 },
		"type":     func(h *hashInput) { h.typ = "MessageEdited" },
		"data":     func(h *hashInput) { h.data = []byte(`{"body":"ho"}`) },
		"metadata": func(h *hashInput) { h.meta = []byte(`{"node":"n2"}`) },
		"time":     func(h *hashInput) { h.at = h.at.Add(time.Millisecond) },
		"no meta":  func(h *hashInput) { h.meta = nil },
	}
	for name, change := range changes {
		in := baseHashInput()
		change(&in)
		if bytes.Equal(in.sum(), base) {
			t.Errorf("changing %s left the hash unchanged", name)
		}
	}
}

// Moving bytes from one field to its neighbour must change the hash; without
// length prefixes "ab"+"c" and "a"+"bc" would hash alike.
func TestChainHashFieldBoundaries(t *testing.T) {
	pairs := []struct {
		name string
		a, b func(*hashInput)
	}{
		{"stream|type",
			func(h *hashInput) { h.stream, h.typ = "room-1M", "essagePosted" },
			func(h *hashInput) { h.stream, h.typ = "room-1", "MessagePosted" }},
		{"type|data",
			func(h *hashInput) { h.typ, h.data = "MessagePosted{", []byte(`"body":"hi"}`) },
			func(h *hashInput) { h.typ, h.data = "MessagePosted", []byte(`{"body":"hi"}`) }},
		{"data|metadata",
			func(h *hashInput) { h.data, h.meta = []byte(`{"a":1}{"b":2}`), nil },
			func(h *hashInput) { h.data, h.meta = []byte(`{"a":1}`), []byte(`{"b":2}`) }},
		{"empty data|metadata",
			func(h *hashInput) { h.data, h.meta = nil, []byte(`x`) },
			func(h *hashInput) { h.data, h.meta = []byte(`x`), nil }},
	}
	for _, p := range pairs {
		a, b := baseHashInput(), baseHashInput()
		p.a(&a)
		p.b(&b)
		if bytes.Equal(a.sum(), b.sum()) {
			t.Errorf("%s: moving bytes across the boundary kept the hash", p.name)
		}
	}
}

func TestVerifyHash(t *testing.T) {
	first := sealedEvent(domain.ZeroHash, 1, `{"node":"n1"}`)
	second := sealedEvent(first.Hash, 2, `{"node":"n2"}`)
	if !first.VerifyHash(domain.ZeroHash) || !second.VerifyHash(first.Hash) {
		t.Fatal("a correctly chained event does not verify")
	}
	if second.VerifyHash(domain.ZeroHash) {
		t.Error("an event verifies against the wrong predecessor")
	}
	tamper := map[string]func(*domain.Event){
		"stream":      func(e *domain.Event) { e.Stream = "node-evil" },
		"version":     func(e *domain.Event) { e.Version++ },
		"type":        func(e *domain.Event) { e.Type = "NodeStopped" },
		"data":        func(e *domain.Event) { e.Data = []byte(`{"node":"n3"}`) },
		"metadata":    func(e *domain.Event) { e.Metadata = []byte(`{"actor_id":"x"}`) },
		"recorded at": func(e *domain.Event) { e.RecordedAt = e.RecordedAt.Add(time.Millisecond) },
		"prev hash":   func(e *domain.Event) { e.PrevHash = domain.ZeroHash },
		"hash":        func(e *domain.Event) { e.Hash = append([]byte{e.Hash[0] ^ 1}, e.Hash[1:]...) },
	}
	for name, change := range tamper {
		e := second
		e.Data = bytes.Clone(second.Data)
		change(&e)
		if e.VerifyHash(first.Hash) {
			t.Errorf("changing %s went unnoticed", name)
		}
	}
}

func sealedEvent(prev []byte, version int64, data string) domain.Event {
	e := domain.Event{Stream: "node-n1", Version: version, Type: "NodeStarted", Data: []byte(data),
		Metadata: []byte(`{}`), RecordedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), PrevHash: prev}
	e.Hash = domain.ChainHash(prev, e.Stream, e.Version, e.Type, e.Data, e.Metadata, e.RecordedAt)
	return e
}
