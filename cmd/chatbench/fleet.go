package main

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// fleet is every client of a run and what they share.
type fleet struct {
	cfg     *config
	m       *metrics
	clients []*client
	senders []*client // the first cfg.senders clients: one per room in turn
}

// newFleet lays the clients out: client i talks to node i%nodes from source
// address i%local-addrs, as user i%users, subscribed to room i%rooms.
func newFleet(cfg *config, fx *fixture, a *api, rbuf int) *fleet {
	f := &fleet{cfg: cfg, m: &metrics{}}
	f.clients = make([]*client, cfg.clients)
	for i := range f.clients {
		var local *net.TCPAddr
		if n := len(cfg.localAddrs); n > 0 {
			local = cfg.localAddrs[i%n]
		}
		node := cfg.nodes[i%len(cfg.nodes)]
		wsURL := "ws" + node[len("http"):] + "/ws"
		u := fx.users[i%len(fx.users)]
		c := newClient(i, wsURL, local, u.header, fx.rooms[i%len(fx.rooms)].ID, f.m, rbuf)
		c.api, c.token = a, u.token
		f.clients[i] = c
	}
	f.senders = f.clients[:cfg.senders]
	for _, c := range f.senders {
		c.enableSending()
	}
	return f
}

// connectAll opens the clients' connections, at most concurrency at a time.
// With retry, a client keeps trying until ctx ends (a storm must not give
// up on a server that is busy accepting); without, a failure is counted.
func (f *fleet) connectAll(ctx context.Context, cs []*client, concurrency int, retry bool) (failed int, firstErr error) {
	var (
		nfail atomic.Int64
		once  sync.Once
	)
	err := parallel(ctx, len(cs), concurrency, func(i int) error {
		backoff := 50 * time.Millisecond
		for {
			err := cs[i].connect(ctx, f.cfg.connectTimeout)
			if err == nil {
				return nil
			}
			if !retry || ctx.Err() != nil {
				nfail.Add(1)
				once.Do(func() { firstErr = err })
				f.m.logSome("connect failed", "client", i, "err", err)
				return nil
			}
			select {
			case <-time.After(backoff):
				backoff = min(2*backoff, time.Second)
			case <-ctx.Done():
			}
		}
	})
	if err != nil && firstErr == nil {
		firstErr = err
	}
	return int(nfail.Load()), firstErr
}

// closeAll closes every connection as close together in time as it can.
func (f *fleet) closeAll() {
	ctx := context.Background() // closing must finish even after the deadline
	if err := parallel(ctx, len(f.clients), 64, func(i int) error {
		f.clients[i].close()
		return nil
	}); err != nil {
		f.m.logSome("close", "err", err)
	}
}

// keepAlive starts the heartbeat; call it before connecting, or the first
// clients of a long connection phase stay silent past the server's window.
// The returned function stops it.
func (f *fleet) keepAlive(ctx context.Context) (stop func()) {
	ctx, stop = context.WithCancel(ctx)
	go f.heartbeat(ctx)
	return stop
}

// heartbeatSlices spreads the pings over the interval: browsers ping on
// timers of their own, and pinging every client at once would wake every
// parked reader on the server at once, which no real load does.
const heartbeatSlices = 20

// defaultHeartbeat is PROTOCOL.md's example heartbeat, assumed for a
// hello that announces none.
const defaultHeartbeat = 25 * time.Second

// pingEvery is how often each client pings: every 4/5 of the shortest
// heartbeat the servers announced, well inside the window (silence for
// two heartbeats closes a socket), as a browser does.
func (f *fleet) pingEvery() time.Duration {
	ms := f.m.heartbeatMS.Load()
	if ms <= 0 {
		ms = defaultHeartbeat.Milliseconds()
	}
	return time.Duration(ms) * time.Millisecond * 4 / 5
}

// heartbeat pings every connected client once per pingEvery, a slice of
// them at a time, until ctx ends. It starts at the first hello, which
// says how often the servers want a sign of life.
func (f *fleet) heartbeat(ctx context.Context) {
	for f.m.heartbeatMS.Load() == 0 {
		sleep(ctx, 20*time.Millisecond)
		if ctx.Err() != nil {
			return
		}
	}
	t := time.NewTimer(f.pingEvery() / heartbeatSlices)
	defer t.Stop()
	for slice := 0; ; slice = (slice + 1) % heartbeatSlices {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for i := slice; i < len(f.clients); i += heartbeatSlices {
			c := f.clients[i]
			if err := c.ping(); err != nil && !errors.Is(err, net.ErrClosed) {
				f.m.logSome("ping", "client", c.idx, "err", err)
			}
		}
		t.Reset(f.pingEvery() / heartbeatSlices)
	}
}

// send paces every sender with a token bucket so the senders together offer
// cfg.rate messages/s until ctx ends or max-messages is reached. A sender
// that falls more than the bucket behind drops the excess tokens (counted
// as skipped) instead of bursting, so a stall is visible as a lower rate.
func (f *fleet) send(ctx context.Context) {
	var wg sync.WaitGroup
	per := f.cfg.rate / float64(len(f.senders))
	interval := time.Duration(float64(time.Second) / per)
	bucket := max(100*time.Millisecond, 2*interval)
	for i, c := range f.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stagger the senders so they do not all fire on one tick.
			next := time.Now().Add(interval * time.Duration(i) / time.Duration(len(f.senders)))
			for ctx.Err() == nil && f.m.sent.Load() < f.cfg.maxMessages {
				now := time.Now()
				if d := next.Sub(now); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return
					}
				} else if -d > bucket {
					f.m.skipped.Add(int64(-d / interval))
					next = now
				}
				next = next.Add(interval)
				ok, err := c.send(f.cfg.msgSize)
				if err != nil {
					f.m.logSome("send", "client", c.idx, "err", err)
				}
				if !ok {
					f.m.skipped.Add(1)
				}
			}
		}()
	}
	wg.Wait()
}

// drain waits, at most grace, until every sender has its acks and every
// client has seen each room up to its highest acked seq.
func (f *fleet) drain(ctx context.Context, grace time.Duration) time.Duration {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if f.drained() {
			return time.Since(start)
		}
		select {
		case <-ctx.Done():
			return time.Since(start)
		case <-t.C:
		}
	}
}

func (f *fleet) drained() bool {
	roomMax := make(map[string]int64)
	for _, c := range f.senders {
		if c.inflight.Load() > 0 && c.connected() {
			return false
		}
		roomMax[string(c.roomID)] = max(roomMax[string(c.roomID)], c.maxAcked.Load())
	}
	for _, c := range f.clients {
		if c.connected() && !c.track.caughtUp(roomMax[string(c.roomID)]) {
			return false
		}
	}
	return true
}

// accounting is the loss and duplicate count of a run. undelivered are
// acked messages a client had not received when the drain ended, none of
// its room's later seqs either: late, or lost at the tail.
type accounting struct {
	expected, lost, undelivered, dups, gaps int64
}

// account compares what each client saw with what the senders of its room
// had acked. Call it after closeAll, when no reader runs.
func (f *fleet) account() accounting {
	acked := make(map[string][]int64)
	for _, c := range f.senders {
		acked[string(c.roomID)] = append(acked[string(c.roomID)], c.acked...)
	}
	for _, s := range acked {
		slices.Sort(s)
	}
	var a accounting
	for _, c := range f.clients {
		lost, undelivered, expected := c.track.missing(acked[string(c.roomID)])
		a.lost += int64(lost)
		a.undelivered += int64(undelivered)
		a.expected += int64(expected)
		a.dups += c.track.dups
		a.gaps += c.track.gaps
	}
	return a
}

// addTraffic puts the traffic figures every sending scenario reports.
// Acks and deliveries still arriving in the drain count over the drain
// time too: a server that falls behind answers the window's sends late,
// and dividing by the window alone reported the offered rate instead of
// the rate it kept up (10,000 msgs/s offered, 4,500 answered per second).
func (f *fleet) addTraffic(rep *report, window, drained time.Duration, acc accounting) {
	secs := window.Seconds()
	m := f.m
	rep.add("senders", len(f.senders))
	rep.add("target_msgs_per_s", f.cfg.rate)
	rep.add("sent", m.sent.Load())
	rep.add("acked", m.acks.Load())
	rep.add("send_errors", m.sendErrors.Load())
	rep.add("skipped_tokens", m.skipped.Load())
	rep.add("msgs_per_s", float64(m.acks.Load())/(window+drained).Seconds())
	rep.add("deliveries", m.deliveries.Load())
	rep.add("deliveries_per_s", float64(m.deliveries.Load())/(window+drained).Seconds())
	rep.add("expected_deliveries", acc.expected)
	rep.add("lost", acc.lost)
	rep.add("undelivered", acc.undelivered)
	rep.add("duplicated", acc.dups)
	rep.add("after_gap", acc.gaps)
	rep.add("send_window_s", secs)
	rep.add("drain_s", drained.Seconds())
	rep.add("ack_latency", m.ack.Summary())
	rep.add("e2e_latency", m.e2e.Summary())
	rep.add("error_frames", m.errFrames.Load())
	rep.add("bad_frames", m.badFrames.Load())
	rep.add("foreign_events", m.foreign.Load())
	rep.add("drops", m.drops.Load())
}
