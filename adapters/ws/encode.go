package ws

import (
	"encoding/binary"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/chatlog/chat/projections"
	gws "github.com/gobwas/ws"
	"github.com/google/uuid"
)

// Server frames are built as complete WebSocket frames: a buffer starts
// with room for the largest header, the JSON payload is appended, and the
// header is written just before the payload. One allocation per frame, and
// the bytes can go to any number of sockets unchanged.
const maxHeader = 10

func newFrameBuf(capacity int) []byte { return make([]byte, maxHeader, maxHeader+capacity) }

// finishFrame writes the header of an unmasked, unfragmented frame with
// opcode op in front of the payload that follows maxHeader bytes of b.
func finishFrame(b []byte, op gws.OpCode) []byte {
	n := len(b) - maxHeader
	var h int
	switch {
	case n < 126:
		h = 2
		b[maxHeader-1] = byte(n)
	case n <= 0xFFFF:
		h = 4
		b[maxHeader-3] = 126
		binary.BigEndian.PutUint16(b[maxHeader-2:], uint16(n))
	default:
		h = 10
		b[maxHeader-9] = 127
		binary.BigEndian.PutUint64(b[maxHeader-8:], uint64(n))
	}
	b[maxHeader-h] = 0x80 | byte(op) // FIN
	return b[maxHeader-h:]
}

// textFrame wraps an encoded payload (a projected update) into a text
// frame, once for all its receivers.
func textFrame(payload []byte) []byte {
	b := newFrameBuf(len(payload))
	b = append(b, payload...)
	return finishFrame(b, gws.OpText)
}

// closeFrame is a close frame with a status code and a short reason.
func closeFrame(code gws.StatusCode, reason string) []byte {
	b := newFrameBuf(2 + len(reason))
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	b = append(b, reason...)
	return finishFrame(b, gws.OpClose)
}

// controlFrame is a ping or pong echoing payload (≤ 125 bytes, checked by
// the reader).
func controlFrame(op gws.OpCode, payload []byte) []byte {
	b := newFrameBuf(len(payload))
	b = append(b, payload...)
	return finishFrame(b, op)
}

// reply starts a reply frame {"type":typ[,"ref":ref]; the caller appends
// the remaining fields and '}' and calls finishFrame.
func reply(typ string, ref []byte, hasRef bool, extra int) []byte {
	b := newFrameBuf(48 + len(ref) + extra)
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	if hasRef {
		b = append(b, `,"ref":`...)
		b = appendString(b, ref)
	}
	return b
}

func appendUUIDField(b []byte, name string, id uuid.UUID) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":"`...)
	var s [36]byte
	hexUUID(&s, id)
	b = append(b, s[:]...)
	return append(b, '"')
}

func appendIntField(b []byte, name string, n int64) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return strconv.AppendInt(b, n, 10)
}

func appendTimeField(b []byte, name string, t time.Time) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":"`...)
	b = t.UTC().AppendFormat(b, projections.TimeFormat)
	return append(b, '"')
}

// hexUUID writes the canonical lower-case form without allocating.
func hexUUID(dst *[36]byte, id uuid.UUID) {
	const hex = "0123456789abcdef"
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hex[c>>4], hex[c&0xF]
		j += 2
	}
}

// appendString appends s as a JSON string, escaping as encoding/json does
// (invalid UTF-8 becomes U+FFFD).
func appendString[T []byte | string](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c >= 0x20 && c != '<' && c != '>' && c != '&':
				b = append(b, c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			continue
		}
		// At most UTFMax bytes are converted, which stays on the stack.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
