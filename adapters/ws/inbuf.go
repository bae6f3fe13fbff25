package ws

import "net"

// inbuf reads a socket through a pooled buffer that is borrowed only while
// bytes wait in it: one read system call then brings a client frame's
// header and body (and often the next frame) instead of three reads, and a
// socket between frames owns no buffer. Reads at least as large as the
// buffer go straight to the caller's slice.
type inbuf struct {
	nc   net.Conn
	buf  *[]byte // nil while empty
	r, w int
}

// inbufSize is the smallest pooled class: it holds most client frames.
const inbufSize = 512

func (b *inbuf) buffered() int { return b.w - b.r }

func (b *inbuf) Read(p []byte) (int, error) {
	if b.r == b.w {
		if len(p) >= inbufSize {
			return b.nc.Read(p)
		}
		if b.buf == nil {
			b.buf = getBuf(inbufSize)
		}
		n, err := b.nc.Read(*b.buf)
		if n <= 0 {
			b.release()
			return 0, err
		}
		b.r, b.w = 0, n
	}
	n := copy(p, (*b.buf)[b.r:b.w])
	b.r += n
	if b.r == b.w {
		b.release()
	}
	return n, nil
}

func (b *inbuf) release() {
	if b.buf != nil {
		putBuf(b.buf)
		b.buf = nil
	}
	b.r, b.w = 0, 0
}
