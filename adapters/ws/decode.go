package ws

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// frameType is the "type" of a client frame.
type frameType uint8

const (
	ftUnknown frameType = iota
	ftSubscribe
	ftUnsubscribe
	ftSend
	ftEdit
	ftDelete
	ftTyping
	ftRead
	ftPing
)

// maxRefLen is PROTOCOL.md's limit on "ref", in characters.
const maxRefLen = 64

// clientFrame is one decoded client frame. Byte slices point into the
// payload (or, for strings with escapes, into a fresh copy), so a frame is
// only valid until its read buffer is reused; commands copy what they keep.
type clientFrame struct {
	typ      frameType
	typeName []byte
	ref      []byte
	hasRef   bool

	room, id, clientID          uuid.UUID
	hasRoom, hasID, hasClientID bool
	after, seq                  int64
	hasAfter, hasSeq            bool
	body                        []byte
	hasBody                     bool
}

// decodeFrame parses a client frame: one flat JSON object whose known
// fields must have the right JSON type; unknown fields are ignored. It scans
// the payload once after json.Valid and allocates only for strings with
// escapes, because every socket message passes through it. The error is a
// CodeInvalid *domain.Error naming the field; f.ref is set whenever the ref
// itself was readable, so the error frame can echo it.
func decodeFrame(p []byte, f *clientFrame) error {
	*f = clientFrame{}
	if !json.Valid(p) {
		return domain.Errorf(domain.CodeInvalid, "frame: malformed JSON")
	}
	s := scanner{p: p}
	s.space()
	if !s.consume('{') {
		return domain.Errorf(domain.CodeInvalid, "frame: must be a JSON object")
	}
	var first error
	s.space()
	if s.consume('}') {
		return f.finish(first)
	}
	for {
		s.space()
		key := s.str()
		s.space()
		s.consume(':')
		s.space()
		if err := f.field(&s, key); err != nil && first == nil {
			first = err
		}
		s.space()
		if !s.consume(',') {
			break
		}
	}
	return f.finish(first)
}

func (f *clientFrame) finish(first error) error {
	if first != nil {
		return first
	}
	if f.typeName == nil {
		return domain.Errorf(domain.CodeInvalid, "type: is required")
	}
	return nil
}

// field decodes the value at s into the field named key, or skips it.
func (f *clientFrame) field(s *scanner, key []byte) error {
	switch string(key) {
	case "type":
		v, ok := s.strValue()
		if !ok {
			return domain.Errorf(domain.CodeInvalid, "type: must be a string")
		}
		f.typeName, f.typ = v, typeOf(v)
	case "ref":
		v, ok := s.strValue()
		if !ok {
			return domain.Errorf(domain.CodeInvalid, "ref: must be a string")
		}
		if utf8.RuneCount(v) > maxRefLen {
			return domain.Errorf(domain.CodeInvalid, "ref: must be at most %d characters", maxRefLen)
		}
		f.ref, f.hasRef = v, true
	case "room":
		return s.uuidValue("room", &f.room, &f.hasRoom)
	case "id":
		return s.uuidValue("id", &f.id, &f.hasID)
	case "client_id":
		return s.uuidValue("client_id", &f.clientID, &f.hasClientID)
	case "after":
		return s.intValue("after", &f.after, &f.hasAfter)
	case "seq":
		return s.intValue("seq", &f.seq, &f.hasSeq)
	case "body":
		if s.null() {
			return nil
		}
		v, ok := s.strValue()
		if !ok {
			return domain.Errorf(domain.CodeInvalid, "body: must be a string")
		}
		f.body, f.hasBody = v, true
	default:
		s.skip()
	}
	return nil
}

func typeOf(name []byte) frameType {
	switch string(name) {
	case "subscribe":
		return ftSubscribe
	case "unsubscribe":
		return ftUnsubscribe
	case "send":
		return ftSend
	case "edit":
		return ftEdit
	case "delete":
		return ftDelete
	case "typing":
		return ftTyping
	case "read":
		return ftRead
	case "ping":
		return ftPing
	}
	return ftUnknown
}

// scanner walks JSON that json.Valid accepted, so it need not report
// syntax errors: it only tells value types apart.
type scanner struct {
	p []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.p) {
		switch s.p[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.i < len(s.p) && s.p[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) null() bool {
	if s.i+4 <= len(s.p) && string(s.p[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// str reads the string at s (its quotes included in the raw token) and
// returns its value; a string with escapes is unescaped into a copy.
func (s *scanner) str() []byte {
	start := s.i
	s.i++ // opening quote
	escaped := false
	for s.i < len(s.p) {
		c := s.p[s.i]
		if c == '\\' {
			escaped = true
			s.i += 2
			continue
		}
		s.i++
		if c == '"' {
			break
		}
	}
	if !escaped {
		return s.p[start+1 : s.i-1]
	}
	var v string
	if err := json.Unmarshal(s.p[start:s.i], &v); err != nil {
		return nil // cannot happen after json.Valid
	}
	return []byte(v)
}

// strValue reads a string value, or skips a value of another type.
func (s *scanner) strValue() ([]byte, bool) {
	if s.i < len(s.p) && s.p[s.i] == '"' {
		return s.str(), true
	}
	s.skip()
	return nil, false
}

func (s *scanner) uuidValue(name string, dst *uuid.UUID, has *bool) error {
	if s.null() {
		return nil
	}
	v, ok := s.strValue()
	if ok {
		if id, err := parseUUID(v); err == nil {
			*dst, *has = id, true
			return nil
		}
	}
	return domain.Errorf(domain.CodeInvalid, "%s: must be a UUID", name)
}

// parseUUID accepts only the canonical 36-character form of PROTOCOL.md.
func parseUUID(v []byte) (uuid.UUID, error) {
	if len(v) != 36 {
		return uuid.Nil, domain.Errorf(domain.CodeInvalid, "not a canonical UUID")
	}
	return uuid.ParseBytes(v)
}

// intValue reads a non-negative integer that fits int64.
func (s *scanner) intValue(name string, dst *int64, has *bool) error {
	if s.null() {
		return nil
	}
	start := s.i
	s.skip()
	tok := s.p[start:s.i]
	var n int64
	for i, c := range tok {
		if c < '0' || c > '9' || (i == 0 && c == '0' && len(tok) > 1) {
			return domain.Errorf(domain.CodeInvalid, "%s: must be a non-negative integer", name)
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return domain.Errorf(domain.CodeInvalid, "%s: is too large", name)
		}
		n = n*10 + d
	}
	if len(tok) == 0 {
		return domain.Errorf(domain.CodeInvalid, "%s: must be a non-negative integer", name)
	}
	*dst, *has = n, true
	return nil
}

// skip moves past one value of any type.
func (s *scanner) skip() {
	if s.i >= len(s.p) {
		return
	}
	switch s.p[s.i] {
	case '"':
		s.str()
	case '{', '[':
		depth := 0
		for s.i < len(s.p) {
			switch s.p[s.i] {
			case '"':
				s.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			s.i++
			if depth == 0 {
				return
			}
		}
	default: // number, true, false, null
		for s.i < len(s.p) {
			switch s.p[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}
