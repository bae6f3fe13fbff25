package ws

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"unicode/utf8"

	"github.com/chatlog/chat/domain"
	gws "github.com/gobwas/ws"
	"github.com/google/uuid"
)

// conn is one socket. Its reader goroutine, or the poller while the reader
// is parked (park.go), owns the read side; everything
// under mu (the queue, the subscriptions, the closing state) is shared
// with the fan-out, the writer and the command goroutines.
type conn struct {
	g      *Gateway
	nc     net.Conn
	sess   Session
	user   domain.UserRef
	addr   string
	hdr    [14]byte // a frame header: 2 bytes, 8 of length, 4 of mask
	in     inbuf    // the read side's bytes; the reader's only
	closed atomic.Bool
	cmds   sync.WaitGroup
	busy   atomic.Int32 // commands in flight
	entry  *userEntry   // set by register, fixed afterwards

	mu        sync.Mutex
	queue     [][]byte
	spare     [][]byte
	wbuf      net.Buffers
	writing   bool
	closing   bool
	closeDone chan struct{}
	subs      map[uuid.UUID]*sub
	bad       *badWindow
	flushFn   func() // c.flush, bound once so starting a writer does not allocate

	skip int64 // payload bytes of an oversized frame, dropped by drain

	// Parking (park.go): raw is nil for a socket that cannot park.
	raw      syscall.RawConn
	state    atomic.Int32 // stateReading or stateParked
	readBy   atomic.Int64 // heartbeat deadline of the frame awaited, Unix ns; the sweep reads it
	timedOut bool         // set by the waker for the reader it starts
	pollKey  uint64       // the socket's epoll key; 0 until it first parks
}

// closeErr ends the read loop with a close status to send.
type closeErr struct {
	code   gws.StatusCode
	reason string
}

func (e *closeErr) Error() string { return "close " + e.reason }

// Close codes of PROTOCOL.md.
const (
	statusSessionEnded gws.StatusCode = 4001
	statusDeactivated  gws.StatusCode = 4003
	statusTryAgain     gws.StatusCode = 1013
)

var errClientClosed = errors.New("client closed")

// readLoop reads and handles messages until the socket ends, and returns
// why: a *closeErr to send, errClientClosed, or a network error; or
// errParked when the poller took the socket over, after a linger
// without frames.
func (c *conn) readLoop() error {
	if c.timedOut {
		return &closeErr{gws.StatusNormalClosure, "heartbeat timeout"}
	}
	for {
		op, buf, err := c.readMessage()
		if err == errLinger {
			if c.tryPark() {
				return errParked
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := c.take(op, buf); err != nil {
			return err
		}
	}
}

// take handles one data message and returns its buffer to the pool.
func (c *conn) take(op gws.OpCode, buf *[]byte) error {
	defer putBuf(buf)
	if c.closed.Load() {
		return nil // closing: only the client's close frame matters now
	}
	c.g.m.framesIn.Inc()
	switch {
	case op == gws.OpBinary:
		return &closeErr{gws.StatusUnsupportedData, "binary frames are not supported"}
	case !utf8.Valid(*buf):
		return &closeErr{gws.StatusInvalidFramePayloadData, "invalid UTF-8"}
	}
	c.handle(*buf)
	return nil
}

// readMessage reads one data message, reassembling fragments and
// answering control frames on the way. The buffer comes from the pool.
func (c *conn) readMessage() (gws.OpCode, *[]byte, error) {
	var (
		msg *[]byte
		op  gws.OpCode
	)
	for {
		h, err := c.readHeader(msg == nil)
		if err != nil {
			if msg != nil {
				putBuf(msg)
			}
			return 0, nil, err
		}
		if h.OpCode.IsControl() {
			if err := c.control(h); err != nil {
				if msg != nil {
					putBuf(msg)
				}
				return 0, nil, err
			}
			continue
		}
		if err := c.checkData(h, msg != nil); err != nil {
			if msg != nil {
				putBuf(msg)
			}
			return 0, nil, err
		}
		if msg == nil {
			op = h.OpCode
			if op == gws.OpBinary {
				return op, getBuf(0), nil // closes at once: no need to read it
			}
		}
		start := 0
		if msg == nil {
			msg = getBuf(int(h.Length))
		} else {
			start = len(*msg)
			if start+int(h.Length) > maxMessage {
				c.skip = h.Length
				putBuf(msg)
				return 0, nil, &closeErr{gws.StatusMessageTooBig, "message over 65536 bytes"}
			}
			msg = growBuf(msg, start+int(h.Length))
		}
		if _, err := io.ReadFull(&c.in, (*msg)[start:]); err != nil {
			putBuf(msg)
			return 0, nil, err
		}
		gws.Cipher((*msg)[start:], h.Mask, 0)
		if h.Fin {
			return op, msg, nil
		}
	}
}

// checkData enforces RFC 6455 framing and the message limit on a data
// frame; fragmented tells whether a fragmented message is in progress.
func (c *conn) checkData(h gws.Header, fragmented bool) error {
	switch {
	case h.OpCode == gws.OpContinuation && !fragmented:
		return &closeErr{gws.StatusProtocolError, "continuation without a start"}
	case h.OpCode != gws.OpContinuation && fragmented:
		return &closeErr{gws.StatusProtocolError, "new message inside a fragmented one"}
	case h.OpCode != gws.OpContinuation && h.OpCode != gws.OpText && h.OpCode != gws.OpBinary:
		return &closeErr{gws.StatusProtocolError, "reserved opcode"}
	case h.OpCode == gws.OpBinary:
		return nil
	case h.Length > maxMessage:
		c.skip = h.Length
		return &closeErr{gws.StatusMessageTooBig, "message over 65536 bytes"}
	}
	return nil
}

// control answers a ping, ignores a pong and ends the loop on a close.
func (c *conn) control(h gws.Header) error {
	if !h.Fin || h.Length > 125 {
		return &closeErr{gws.StatusProtocolError, "bad control frame"}
	}
	var p [125]byte
	body := p[:h.Length]
	if _, err := io.ReadFull(&c.in, body); err != nil {
		return err
	}
	gws.Cipher(body, h.Mask, 0)
	switch h.OpCode {
	case gws.OpPing:
		c.push(controlFrame(gws.OpPong, body))
	case gws.OpClose:
		code := gws.StatusNormalClosure
		if len(body) >= 2 {
			code = gws.StatusCode(binary.BigEndian.Uint16(body))
		}
		if code.IsProtocolReserved() || code.IsNotUsed() {
			code = gws.StatusProtocolError
		}
		c.close(code, "", false)
		return errClientClosed
	case gws.OpPong:
	default:
		return &closeErr{gws.StatusProtocolError, "reserved opcode"}
	}
	return nil
}

// readHeader reads a client frame header into c.hdr (waitFrame says when
// a buffer is held meanwhile). mayLinger allows errLinger: no frame began
// within the linger and the reader may park.
func (c *conn) readHeader(mayLinger bool) (gws.Header, error) {
	var h gws.Header
	if err := c.waitFrame(mayLinger); err != nil {
		return h, err
	}
	b := c.hdr[:]
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] >> 4) & 0x7
	h.OpCode = gws.OpCode(b[0] & 0x0F)
	masked := b[1]&0x80 != 0
	n, extra := int64(b[1]&0x7F), 0
	switch n {
	case 126:
		extra = 2
	case 127:
		extra = 8
	}
	if masked {
		extra += 4
	}
	if _, err := io.ReadFull(&c.in, b[2:2+extra]); err != nil {
		return h, err
	}
	switch n {
	case 126:
		n = int64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		n = int64(binary.BigEndian.Uint64(b[2:]) &^ (1 << 63))
	}
	h.Length = n
	if masked {
		copy(h.Mask[:], b[2+extra-4:])
	}
	if !masked || h.Rsv != 0 {
		return h, &closeErr{gws.StatusProtocolError, "client frames must be masked, without extensions"}
	}
	return h, nil
}

// drain reads and drops what the client sends after our close frame, until
// its close frame, EOF or the close deadline, so closing never resets a
// connection with unread data (a reset can destroy our close frame in the
// client's receive buffer). Once the stream makes no sense as frames, it
// drops raw bytes.
func (c *conn) drain() {
	if c.skip > 0 {
		if _, err := io.CopyN(io.Discard, &c.in, c.skip); err != nil {
			return
		}
	}
	for {
		h, err := c.readHeader(false)
		var ce *closeErr
		if errors.As(err, &ce) {
			break
		}
		if err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, &c.in, h.Length); err != nil || h.OpCode == gws.OpClose {
			return
		}
	}
	var junk [512]byte
	for {
		if _, err := c.in.Read(junk[:]); err != nil {
			return
		}
	}
}
