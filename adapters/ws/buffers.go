package ws

import "sync"

// Read buffers are pooled by size class and held only while a frame is
// being read and handled, so an idle socket owns none. The largest class
// is the protocol's message limit.
const maxMessage = 64 << 10

var bufClasses = [...]int{512, 4 << 10, maxMessage}

var bufPools [len(bufClasses)]sync.Pool

// getBuf returns a buffer of length n ≤ maxMessage.
func getBuf(n int) *[]byte {
	for i, size := range bufClasses {
		if n <= size {
			if b, ok := bufPools[i].Get().(*[]byte); ok {
				*b = (*b)[:n]
				return b
			}
			b := make([]byte, n, size)
			return &b
		}
	}
	panic("ws: buffer over the message limit")
}

func putBuf(b *[]byte) {
	for i, size := range bufClasses {
		if cap(*b) == size {
			bufPools[i].Put(b)
			return
		}
	}
}

// growBuf returns a buffer holding b's bytes with room for n in total.
func growBuf(b *[]byte, n int) *[]byte {
	if n <= cap(*b) {
		*b = (*b)[:n]
		return b
	}
	nb := getBuf(n)
	copy(*nb, *b)
	putBuf(b)
	return nb
}
