package ws

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestIdleConnectionMemory holds idle sockets and measures what the whole
// process (server and the minimal test clients together) spends on each:
// heap plus goroutine stacks. DESIGN.md budgets 8 KiB per idle socket on
// the server; the clients here add a net.Conn and little else.
func TestIdleConnectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 sockets; run without -short")
	}
	h := newHarness(t, nil)
	_, token := h.chat.addUser("idle")
	for _, route := range []struct{ name, url string }{{"ServeConn", h.raw}, {"ServeHTTP", h.url}} {
		t.Run(route.name, func(t *testing.T) {
			const n = 2000
			addr := strings.TrimSuffix(strings.TrimPrefix(route.url, "ws://"), "/ws")
			before := memInUse()
			conns := make([]net.Conn, 0, n)
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for i := 0; i < n; i++ {
				c, err := rawHandshake(addr, token)
				if err != nil {
					t.Fatalf("socket %d: %v", i, err)
				}
				conns = append(conns, c)
			}
			waitConnections(t, h, n)
			waitParked(t, h, n)
			per := float64(memInUse()-before) / n
			t.Logf("%s: %.0f bytes per idle socket (server and client)", route.name, per)
			if per > 8<<10 {
				t.Errorf("%.0f bytes per idle socket, budget 8 KiB", per)
			}
			for _, c := range conns {
				c.Close()
			}
			conns = conns[:0]
			waitConnections(t, h, 0)
		})
	}
}

// rawHandshake upgrades with a hand-written request and reads the answer
// and the hello frame, keeping nothing but the net.Conn.
func rawHandshake(addr, token string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n", addr, token)
	br := bufio.NewReaderSize(c, 512)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return c, nil // the hello frame stays unread in the socket buffer
}

func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

func waitConnections(t *testing.T, h *harness, n int) {
	t.Helper()
	waitGauge(t, h.gw.m.connections, "connections", n)
	time.Sleep(50 * time.Millisecond) // writers of the hello frames exit
}

// waitParked waits until n sockets have parked their readers.
func waitParked(t *testing.T, h *harness, n int) {
	t.Helper()
	waitGauge(t, h.gw.m.parked, "parked readers", n)
}

func waitGauge(t *testing.T, g prometheus.Gauge, name string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for counterValue(t, g) != float64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %d", name, counterValue(t, g), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIdleSocketsParkTheirReaders: after a linger without frames a socket
// has no goroutine at all (its reader waits in epoll), and a parked socket
// still answers at once, hangs up cleanly and is counted.
func TestIdleSocketsParkTheirReaders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("readers park in epoll on Linux only")
	}
	h := newHarness(t, func(c *Config) { c.Heartbeat = 400 * time.Millisecond }) // a 100 ms linger
	_, token := h.chat.addUser("idle")
	addr := strings.TrimSuffix(strings.TrimPrefix(h.raw, "ws://"), "/ws")
	const n = 300
	before := runtime.NumGoroutine()
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := rawHandshake(addr, token)
		if err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	waitConnections(t, h, n)
	waitParked(t, h, n)
	if extra := runtime.NumGoroutine() - before; extra > n/10 {
		t.Errorf("%d idle sockets hold %d goroutines", n, extra)
	}

	alice := h.user("alice") // a parked socket wakes for each frame
	for i := range 3 {
		ref := fmt.Sprint("p", i)
		alice.send(`{"type":"ping","ref":"` + ref + `"}`)
		if m := alice.expect("pong"); m["ref"] != ref {
			t.Fatalf("pong = %v", m)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	waitConnections(t, h, 1)
	if got := counterValue(t, h.gw.m.parked); got > 1 {
		t.Errorf("parked readers = %v after the idle sockets hung up", got)
	}
}
