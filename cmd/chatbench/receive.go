package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// The receiving half of a client: one reader goroutine per connection.

func (c *client) readLoop(conn net.Conn, br *bufio.Reader, done, subErr chan error) {
	fr := frameReader{br: br, buf: make([]byte, 0, 512)}
	var f frame
	err := func() error {
		for {
			op, p, err := fr.next()
			if err != nil {
				return err
			}
			switch op {
			case opText:
				c.handle(p, &f, subErr)
			case opPing:
				if err := c.write(opPong, p); err != nil {
					return err
				}
			case opClose:
				ce := &closeError{code: 1005}
				if len(p) >= 2 {
					ce.code, ce.reason = int(p[0])<<8|int(p[1]), string(p[2:])
				}
				_ = c.write(opClose, p[:min(len(p), 2)]) // best effort: the server is closing anyway
				return ce
			}
		}
	}()
	c.mu.Lock()
	if c.conn == conn {
		c.conn = nil
	}
	c.mu.Unlock()
	_ = conn.Close() // already failing; the read error is the one reported
	select {
	case subErr <- fmt.Errorf("connection ended before subscribed: %w", err):
	default:
	}
	if c.closing.Load() {
		err = nil
	} else {
		c.m.drops.Add(1)
		c.m.logSome("connection dropped", "client", c.idx, "err", err)
	}
	done <- err
}

func (c *client) handle(p []byte, f *frame, subErr chan error) {
	if err := parseFrame(p, f); err != nil {
		c.m.badFrames.Add(1)
		c.m.logSome("unparsable frame", "frame", string(p))
		return
	}
	switch string(unquote(f.typ)) {
	case "hello":
		if ms := atoi(f.heartbeatMS); ms > 0 {
			c.m.sawHeartbeat(ms)
		} else {
			c.m.logSome("hello without heartbeat_ms", "frame", string(p))
			c.m.sawHeartbeat(defaultHeartbeat.Milliseconds())
		}
	case "event":
		c.onEvent(f)
	case "ack":
		c.onAck(f)
	case "subscribed":
		head := atoi(f.head)
		if head < 0 {
			c.m.logSome("subscribed without head", "frame", string(p))
			head = 0
		}
		c.track.start(head)
		if string(f.truncated) == "true" {
			c.m.truncated.Add(1)
			if after := c.resumeAt.Load(); after >= 0 && c.api != nil {
				c.fills.Add(1)
				go c.fillFromHistory(after, head)
			}
		}
		c.subAt.Store(monoNow())
		select {
		case subErr <- nil:
		default:
		}
	case "error":
		c.m.errFrames.Add(1)
		ref := unquote(f.ref)
		c.m.logSome("error frame", "client", c.idx, "ref", string(ref), "code", string(f.code), "message", string(f.message))
		if string(ref) == "sub" {
			select {
			case subErr <- fmt.Errorf("server error %s: %s", f.code, f.message):
			default:
			}
		} else if atoi(ref) >= 0 {
			c.m.sendErrors.Add(1)
			c.inflight.Add(-1)
		}
	}
}

func (c *client) onEvent(f *frame) {
	if !bytes.Equal(unquote(f.room), c.roomID) {
		c.m.foreign.Add(1)
		return
	}
	seq := atoi(f.seq)
	if seq < 0 {
		c.m.badFrames.Add(1)
		return
	}
	if c.track.observe(seq) {
		return
	}
	body := unquote(objField(f.data, "body"))
	if len(body) < 2 || body[0] != 't' || body[1] != '=' {
		return
	}
	end := bytes.IndexByte(body, ' ')
	if end < 0 {
		end = len(body)
	}
	if ts := atoi(body[2:end]); ts >= 0 {
		c.m.e2e.Record(time.Duration(monoNow() - ts))
		c.m.deliveries.Add(1)
	}
}

func (c *client) onAck(f *frame) {
	n, seq := atoi(f.ref), atoi(f.seq)
	if n < 0 || seq < 0 || c.sentAt == nil {
		c.m.badFrames.Add(1)
		return
	}
	c.m.ack.Record(time.Duration(monoNow() - c.sentAt[n&(ackRing-1)].Load()))
	c.acked = append(c.acked, seq)
	if seq > c.maxAcked.Load() {
		c.maxAcked.Store(seq)
	}
	c.m.acks.Add(1)
	c.inflight.Add(-1)
}

// fillFromHistory pages the messages a truncated resume left out, as
// PROTOCOL.md tells a client to, and counts them as received.
func (c *client) fillFromHistory(after, head int64) {
	defer c.fills.Done()
	room := string(c.roomID)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for after < head {
		var page struct {
			Messages []struct {
				Seq int64 `json:"seq"`
			} `json:"messages"`
			HasMore bool `json:"has_more"`
		}
		path := "/api/rooms/" + room + "/messages?limit=200&after=" + strconv.FormatInt(after, 10)
		if err := c.api.do(ctx, "GET", path, c.token, nil, &page); err != nil {
			c.m.logSome("page history after a truncated resume", "client", c.idx, "err", err)
			return
		}
		for _, m := range page.Messages {
			c.track.fill(m.Seq)
			c.m.filled.Add(1)
			after = max(after, m.Seq)
		}
		if !page.HasMore || len(page.Messages) == 0 {
			return
		}
	}
}

func (c *client) connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil
}
