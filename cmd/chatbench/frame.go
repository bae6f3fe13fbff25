package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gobwas/ws"
)

// The bench reads and writes WebSocket frames itself instead of through
// wsutil, because wsutil allocates per message and the receiving path must
// not be what limits a measurement of the server.

const (
	opCont  = 0x0
	opText  = 0x1
	opBin   = 0x2
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA

	maxFrame = 1 << 20 // far above the protocol's 64 KiB, so the server's limit is the one tested
)

// closeError is the server closing the socket, with its status code.
type closeError struct {
	code   int
	reason string
}

func (e *closeError) Error() string { return fmt.Sprintf("closed by server: %d %s", e.code, e.reason) }

// frameReader reads server frames (unmasked) into one reusable buffer.
type frameReader struct {
	br  *bufio.Reader
	buf []byte
	hdr [8]byte
}

// next returns the opcode and payload of the next complete message,
// reassembling fragments. The payload is valid until the next call.
func (r *frameReader) next() (byte, []byte, error) {
	r.buf = r.buf[:0]
	var msgOp byte
	for {
		fin, op, n, err := r.header()
		if err != nil {
			return 0, nil, err
		}
		if op >= opClose {
			// Control frames may interleave with fragments; hand them up alone.
			p := make([]byte, n)
			if _, err := io.ReadFull(r.br, p); err != nil {
				return 0, nil, fmt.Errorf("read control payload: %w", err)
			}
			return op, p, nil
		}
		if op != opCont {
			msgOp = op
		}
		start := len(r.buf)
		if len(r.buf)+n > maxFrame {
			return 0, nil, fmt.Errorf("message over %d bytes", maxFrame)
		}
		r.buf = grow(r.buf, start+n)
		if _, err := io.ReadFull(r.br, r.buf[start:]); err != nil {
			return 0, nil, fmt.Errorf("read payload: %w", err)
		}
		if fin {
			return msgOp, r.buf, nil
		}
	}
}

func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	nb := make([]byte, n, max(n, 2*cap(b)))
	copy(nb, b)
	return nb
}

func (r *frameReader) header() (fin bool, op byte, n int, err error) {
	if _, err = io.ReadFull(r.br, r.hdr[:2]); err != nil {
		return false, 0, 0, err
	}
	fin = r.hdr[0]&0x80 != 0
	op = r.hdr[0] & 0x0f
	if r.hdr[1]&0x80 != 0 {
		return false, 0, 0, errors.New("server sent a masked frame")
	}
	switch l := r.hdr[1] & 0x7f; l {
	case 126:
		if _, err = io.ReadFull(r.br, r.hdr[:2]); err != nil {
			return false, 0, 0, err
		}
		n = int(binary.BigEndian.Uint16(r.hdr[:2]))
	case 127:
		if _, err = io.ReadFull(r.br, r.hdr[:8]); err != nil {
			return false, 0, 0, err
		}
		u := binary.BigEndian.Uint64(r.hdr[:8])
		if u > maxFrame {
			return false, 0, 0, fmt.Errorf("frame of %d bytes", u)
		}
		n = int(u)
	default:
		n = int(l)
	}
	return fin, op, n, nil
}

// appendClientFrame appends one masked, final frame to dst. Clients must
// mask (RFC 6455 §5.3); the mask need not be secret here, only present.
func appendClientFrame(dst []byte, op byte, payload []byte, mask [4]byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, mask[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	ws.Cipher(dst[start:], mask, 0) // XORs eight bytes at a time
	return dst
}

// frame holds the raw JSON values of the top-level fields the bench reads;
// strings keep their quotes. Slices point into the read buffer.
type frame struct {
	typ, room, seq, ref, data, head, truncated, code, message, heartbeatMS []byte
}

func (f *frame) reset() { *f = frame{} }

// parseFrame scans one JSON object once, without allocating.
func parseFrame(b []byte, f *frame) error {
	f.reset()
	return scanObject(b, func(key, val []byte) {
		switch string(key) {
		case "type":
			f.typ = val
		case "room":
			f.room = val
		case "seq":
			f.seq = val
		case "ref":
			f.ref = val
		case "data":
			f.data = val
		case "head":
			f.head = val
		case "truncated":
			f.truncated = val
		case "code":
			f.code = val
		case "message":
			f.message = val
		case "heartbeat_ms":
			f.heartbeatMS = val
		}
	})
}

var errJSON = errors.New("malformed JSON frame")

// scanObject calls fn with every top-level key (without quotes) and raw value.
func scanObject(b []byte, fn func(key, val []byte)) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errJSON
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for i < len(b) {
		if b[i] != '"' {
			return errJSON
		}
		end := skipString(b, i)
		if end < 0 {
			return errJSON
		}
		key := b[i+1 : end-1]
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return errJSON
		}
		i = skipWS(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 {
			return errJSON
		}
		fn(key, b[i:vend])
		i = skipWS(b, vend)
		if i >= len(b) {
			return errJSON
		}
		if b[i] == '}' {
			return nil
		}
		if b[i] != ',' {
			return errJSON
		}
		i = skipWS(b, i+1)
	}
	return errJSON
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the closing quote of the string at i.
// It jumps from quote to quote (IndexByte is vectorised); a quote preceded by
// an odd run of backslashes is escaped.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j)
				if j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' {
		j++
	}
	return j
}

// unquote strips the quotes of a raw JSON string without decoding escapes;
// the values the bench compares (ids, types, digits) never contain any.
func unquote(v []byte) []byte {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// atoi parses a non-negative decimal integer, possibly quoted; -1 if invalid.
func atoi(v []byte) int64 {
	v = unquote(v)
	if len(v) == 0 || len(v) > 18 {
		return -1
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// objField returns the raw value of key in the JSON object obj, or nil.
func objField(obj []byte, key string) []byte {
	var out []byte
	if err := scanObject(obj, func(k, v []byte) {
		if out == nil && string(k) == key {
			out = v
		}
	}); err != nil {
		return nil
	}
	return out
}
