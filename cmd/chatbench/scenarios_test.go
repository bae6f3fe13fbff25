package main

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"
)

// runBench runs chatbench in-process and returns its JSON summary.
func runBench(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	t.Logf("chatbench %v:\n%s", args, out.String())
	if code != 0 {
		t.Fatalf("chatbench exited %d: %s", code, errOut.String())
	}
	line, _, _ := bytes.Cut(out.Bytes(), []byte("\n"))
	var sum map[string]any
	if err := json.Unmarshal(line, &sum); err != nil {
		t.Fatalf("first line is not the JSON summary: %v\n%s", err, line)
	}
	return sum
}

func num(t *testing.T, sum map[string]any, key string) float64 {
	t.Helper()
	v, ok := sum[key].(float64)
	if !ok {
		t.Fatalf("summary lacks %s: %v", key, sum)
	}
	return v
}

func startFake(t *testing.T, s *fakeServer) string {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFanoutAgainstFakeServer(t *testing.T) {
	base := startFake(t, newFakeServer())
	sum := runBench(t, "--nodes", base+","+base, "--rooms", "3", "--members", "4", "--senders", "3",
		"--rate", "300", "--duration", "1s", "--drain", "2s", "--deadline", "20s", "fanout")
	acked := num(t, sum, "acked")
	if acked < 150 || num(t, sum, "sent") != acked {
		t.Fatalf("sent %v acked %v at 300/s for 1 s", sum["sent"], acked)
	}
	if num(t, sum, "expected_deliveries") != 4*acked || num(t, sum, "deliveries") != 4*acked {
		t.Fatalf("expected %v deliveries %v, want 4 × %v", sum["expected_deliveries"], sum["deliveries"], acked)
	}
	if num(t, sum, "lost") != 0 || num(t, sum, "duplicated") != 0 || num(t, sum, "after_gap") != 0 {
		t.Fatalf("lost %v duplicated %v out of order %v", sum["lost"], sum["duplicated"], sum["after_gap"])
	}
	// Rates are over the window and the drain: what the server kept up.
	span := num(t, sum, "send_window_s") + num(t, sum, "drain_s")
	if rate := num(t, sum, "msgs_per_s"); math.Abs(rate-acked/span) > 0.01*rate {
		t.Errorf("msgs_per_s %v, want acked/(window+drain) = %v", rate, acked/span)
	}
}

// A server that drops one seq and repeats another must show both, once per
// subscriber of the room.
func TestAccountingCatchesLossAndDuplicates(t *testing.T) {
	s := newFakeServer()
	// Seq 1 room_created, 2 the admin joins, 3..5 the three users join; messages follow.
	s.dropAt, s.dupAt = 10, 12
	base := startFake(t, s)
	sum := runBench(t, "--nodes", base, "--rooms", "1", "--members", "3", "--senders", "1",
		"--rate", "50", "--duration", "1s", "--drain", "500ms", "--deadline", "20s", "fanout")
	if num(t, sum, "lost") != 3 || num(t, sum, "duplicated") != 3 {
		t.Fatalf("lost %v duplicated %v, want 3 and 3", sum["lost"], sum["duplicated"])
	}
}

// Messages still missing when the drain gives up, with nothing of their
// room after them, are undelivered, not lost: a server merely behind
// would still send them.
func TestAccountingTellsUndeliveredFromLost(t *testing.T) {
	s := newFakeServer()
	s.dropAt, s.stopAt = 10, 30 // messages from seq 6; 1 lost, then the tail stops
	base := startFake(t, s)
	sum := runBench(t, "--nodes", base, "--rooms", "1", "--members", "3", "--senders", "1",
		"--rate", "50", "--duration", "1s", "--drain", "300ms", "--deadline", "20s", "fanout")
	acked := int(num(t, sum, "acked"))
	if acked < 30 {
		t.Fatalf("%d acked; the run must reach past seq 30", acked)
	}
	// 3 members see every message: the tail is acked seqs 30..5+acked.
	if lost, undelivered := num(t, sum, "lost"), num(t, sum, "undelivered"); lost != 3 || int(undelivered) != 3*(acked+5-29) {
		t.Fatalf("lost %v undelivered %v, want 3 and %d", lost, undelivered, 3*(acked+5-29))
	}
}

func TestStormAgainstFakeServer(t *testing.T) {
	base := startFake(t, newFakeServer())
	sum := runBench(t, "--nodes", base, "--rooms", "3", "--members", "10", "--senders", "3",
		"--rate", "300", "--duration", "2s", "--storm-at", "700ms", "--drain", "2s", "--deadline", "20s", "storm")
	if num(t, sum, "resumed") != 30 || num(t, sum, "reconnect_failed") != 0 {
		t.Fatalf("resumed %v failed %v", sum["resumed"], sum["reconnect_failed"])
	}
	if num(t, sum, "acked") < 100 || num(t, sum, "lost") != 0 || num(t, sum, "duplicated") != 0 {
		t.Fatalf("acked %v lost %v duplicated %v", sum["acked"], sum["lost"], sum["duplicated"])
	}
}

// A server that cuts resumes short leaves the rest to history paging; the
// union of socket and history must still be whole.
func TestStormPagesHistoryAfterTruncatedResume(t *testing.T) {
	s := newFakeServer()
	s.replayLimit, s.resumeDelay = 3, 200*time.Millisecond
	base := startFake(t, s)
	sum := runBench(t, "--nodes", base, "--rooms", "2", "--members", "5", "--senders", "2",
		"--rate", "400", "--duration", "2s", "--storm-at", "700ms", "--drain", "2s", "--deadline", "20s", "storm")
	if num(t, sum, "truncated_resumes") == 0 {
		t.Fatal("no resume was truncated; the test proves nothing")
	}
	if num(t, sum, "lost") != 0 || num(t, sum, "duplicated") != 0 {
		t.Fatalf("lost %v duplicated %v", sum["lost"], sum["duplicated"])
	}
}

func TestIdleAgainstFakeServer(t *testing.T) {
	base := startFake(t, newFakeServer())
	sum := runBench(t, "--nodes", base, "--clients", "25", "--rooms", "5",
		"--duration", "1s", "--settle", "200ms", "--deadline", "20s", "idle")
	if num(t, sum, "connected") != 25 || num(t, sum, "held") != 25 || num(t, sum, "failed") != 0 {
		t.Fatalf("connected %v held %v failed %v", sum["connected"], sum["held"], sum["failed"])
	}
	if _, ok := sum["rss_bytes_per_conn"]; !ok {
		t.Fatal("no memory per connection in the summary")
	}
}

// TestPingsFollowTheAnnouncedHeartbeat: clients ping at the pace the
// server's hello asks for (4/5 of a 500 ms heartbeat here), and not all
// at once: the first pings of a round spread over its interval.
func TestPingsFollowTheAnnouncedHeartbeat(t *testing.T) {
	s := newFakeServer()
	s.heartbeatMS = 500
	base := startFake(t, s)
	const clients = 40
	sum := runBench(t, "--nodes", base, "--clients", strconv.Itoa(clients), "--rooms", "4",
		"--duration", "2s", "--settle", "100ms", "--deadline", "20s", "idle")
	if num(t, sum, "held") != clients {
		t.Fatalf("held %v of %d", sum["held"], clients)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pings) != clients {
		t.Fatalf("%d of %d connections pinged", len(s.pings), clients)
	}
	var firsts []time.Time
	for _, times := range s.pings {
		// Held ~2 s at one ping per 400 ms: about 5 each, and never two
		// server heartbeats (1 s) without one.
		if len(times) < 3 {
			t.Errorf("a connection pinged %d times in 2 s, want at least 3", len(times))
		}
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap > time.Second {
				t.Errorf("a connection was silent %v between pings", gap)
			}
		}
		firsts = append(firsts, times[0])
	}
	slices.SortFunc(firsts, func(a, b time.Time) int { return a.Compare(b) })
	// 20 slices of 20 ms: the first pings span ~380 ms; at once, ~0.
	if spread := firsts[len(firsts)-1].Sub(firsts[0]); spread < 150*time.Millisecond {
		t.Errorf("the first pings of %d clients spread over %v, want them sliced over ~400 ms", clients, spread)
	}
}

func TestRefusesNonLoopbackTargetsAndUnboundedRuns(t *testing.T) {
	for _, args := range [][]string{
		{"--nodes", "http://10.0.0.1:8080", "fanout"},
		{"--nodes", "http://example.com", "fanout"},
		{"--local-addrs", "192.168.1.2", "fanout"},
		{"--nodes", "http://[::1]:8080", "idle"},
		{"--duration", "60s", "--deadline", "60s", "fanout"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2 (refused)", args, code)
		}
	}
}
