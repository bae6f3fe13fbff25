package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// process is a chatd started as a real process by a multi-node test.
type process struct {
	*node
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{}
}

// buildChatd compiles this package's chatd into dir.
func buildChatd(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "chatd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build chatd: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess runs bin as node id on d and waits until it is ready.
func startProcess(t *testing.T, bin string, d deployment, id string) *process {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "CHAT_DATABASE_URL="+d.databaseURL, "CHAT_REDIS_URL="+d.redisURL,
		"CHAT_REDIS_PREFIX="+d.redisPrefix, "CHAT_ADDR="+addr, "CHAT_NODE_ID="+id, "CHAT_LOG_LEVEL=warn")
	p := &process{node: &node{t: t, URL: "http://" + addr, stopped: true}, cmd: cmd, logs: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("logs of %s:\n%s", id, p.logs)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited: %s", id, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 30 s (%v): %s", id, err, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL, as a crash would.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-p.done
}

// TestMultiNodeProcesses: three chatd processes on one PostgreSQL and one
// Redis. Messages sent on A and B reach subscribers on A, B and C exactly
// once and in the same order; presence agrees on every node; after kill -9
// of C its user goes offline on the survivors within 15 s.
func TestMultiNodeProcesses(t *testing.T) {
	t.Parallel()
	d := production(t)
	bin := buildChatd(t, t.TempDir())
	var nodes []*process
	for _, id := range []string{"node-a", "node-b", "node-c"} {
		nodes = append(nodes, startProcess(t, bin, d, id))
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	admin := a.admin()
	room := b.room(admin, "everywhere", "public")["id"].(string)
	names := []string{"alice", "bob", "carol"}
	ids := map[string]string{}
	var clients []*wsClient
	for i, name := range names {
		var tok string
		ids[name], tok = a.user(admin, name)
		nodes[i].must(http.StatusOK, "POST", "/api/rooms/"+room+"/join", tok, nil)
		clients = append(clients, nodes[i].ws(tok).watch("presence"))
	}
	// alice (on A) and bob (on B) see carol (on C) come online.
	wsWaitPresence(t, clients[0], ids["carol"], true)
	wsWaitPresence(t, clients[1], ids["carol"], true)
	for _, p := range nodes {
		for _, name := range names {
			wsWaitOnline(t, p.node, admin, name, true, 10*time.Second)
		}
	}
	multiNodeDelivery(t, nodes, room, clients)

	start := time.Now()
	c.kill(t)
	for i, survivor := range []*process{a, b} {
		wsWaitPresence(t, clients[i], ids["carol"], false)
		wsWaitOnline(t, survivor.node, admin, "carol", false, 15*time.Second-time.Since(start))
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("carol went offline %s after her node died, want within 15 s", took)
	} else {
		t.Logf("carol offline on the survivors %s after kill -9 of her node", took.Round(time.Millisecond))
	}
	projectionsTakeover(t, [2]*process{a, b}, [2]*wsClient{clients[0], clients[1]}, [2]string{"alice", "bob"}, room)
}

// projectionsTakeover: exactly one survivor feeds the projections; after
// kill -9 of that one the other takes over, and its sockets keep getting
// live messages.
func projectionsTakeover(t *testing.T, nodes [2]*process, clients [2]*wsClient, names [2]string, room string) {
	feeding := [2]bool{feedsProjections(t, nodes[0]), feedsProjections(t, nodes[1])}
	if feeding[0] == feeding[1] {
		t.Fatalf("nodes feeding the projections: %v, want exactly one", feeding)
	}
	dead, live := 0, 1
	if feeding[1] {
		dead, live = 1, 0
	}
	nodes[dead].kill(t)
	deadline := time.Now().Add(10 * time.Second)
	for !feedsProjections(t, nodes[live]) {
		if time.Now().After(deadline) {
			t.Fatal("the survivor does not feed the projections 10 s after the feeder died")
		}
		time.Sleep(100 * time.Millisecond)
	}
	watcher := clients[live]
	head := wsSeq(watcher.subscribe(room, nil))
	sender := nodes[live].ws(nodes[live].login(names[live], names[live]+"-password"))
	const count = 5
	if err := wsSendPaced(sender, room, count); err != nil {
		t.Fatal(err)
	}
	for want := head + 1; want <= head+count; want++ {
		if m := watcher.expect("event"); wsSeq(m) != want {
			t.Fatalf("after the takeover: seq %d, want %d", wsSeq(m), want)
		}
	}
}

// feedsProjections reads the node's chat_leader gauge for the projections.
func feedsProjections(t *testing.T, p *process) bool {
	t.Helper()
	resp, err := http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatalf("metrics of %s: %v", p.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("metrics of %s: %v", p.URL, err)
	}
	return strings.Contains(string(body), `chat_leader{lock="projections"} 1`)
}

// multiNodeDelivery: every subscriber, on whatever node, sees the same
// events in the same order, each once, while A and B send at once.
func multiNodeDelivery(t *testing.T, nodes []*process, room string, clients []*wsClient) {
	heads := make([]int64, len(clients))
	for i, cl := range clients {
		delete(cl.keep, "presence")
		heads[i] = wsSeq(cl.subscribe(room, nil))
	}
	head := slices.Max(heads)
	senders := []*wsClient{nodes[0].ws(nodes[0].login("alice", "alice-password")), nodes[1].ws(nodes[1].login("bob", "bob-password"))}
	const each = 40
	final := head + int64(len(senders)*each)
	var wg sync.WaitGroup
	errs := make(chan error, len(senders))
	for _, s := range senders {
		wg.Go(func() { errs <- wsSendPaced(s, room, each) })
	}
	seen := make([][]string, len(clients))
	for i, cl := range clients {
		last := heads[i]
		for last < final {
			m := cl.expect("event")
			if wsSeq(m) != last+1 {
				t.Fatalf("client on node %d: seq %d after %d", i, wsSeq(m), last)
			}
			last++
			if last > head {
				seen[i] = append(seen[i], fmt.Sprint(wsData(m)["id"]))
			}
		}
		cl.sync()
	}
	wg.Wait()
	for range senders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range seen {
		if !slices.Equal(seen[i], seen[0]) || len(seen[i]) != len(senders)*each {
			t.Fatalf("node %d saw %d messages, node 0 %d, or in another order", i, len(seen[i]), len(seen[0]))
		}
	}
}
