package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// exportLines runs an export or tail and decodes its lines.
func exportLines(t *testing.T, s ctlStore, args ...string) []exportedEvent {
	t.Helper()
	var out []exportedEvent
	for _, line := range strings.Split(strings.TrimSpace(s.mustCtl(t, "", args...)), "\n") {
		if line == "" {
			continue
		}
		var e exportedEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// TestExportFilters: --after, --since, --until and tail's -n select the
// events they say, in commit order.
func TestExportFilters(t *testing.T) {
	eachStore(t, func(t *testing.T, s ctlStore) {
		h := writeHistory(t, s)
		all := exportLines(t, s, "events", "export")
		if len(all) != h.events {
			t.Fatalf("export has %d events, want %d", len(all), h.events)
		}
		after := exportLines(t, s, "events", "export", "--after", itoa(all[2].Position))
		if len(after) != len(all)-3 || after[0].ID != all[3].ID {
			t.Errorf("--after the third event: %d events from %+v; want %d from the fourth", len(after), after[0], len(all)-3)
		}
		moment := h.before.Format(time.RFC3339Nano)
		since := exportLines(t, s, "events", "export", "--since", moment)
		if len(since) != 2 || since[0].Type != "MessageEdited" || since[1].Type != "MemberLeft" {
			t.Errorf("--since the moment: %+v; want the edit and the leave", since)
		}
		if until := exportLines(t, s, "events", "export", "--until", moment); len(until) != len(all)-2 {
			t.Errorf("--until the moment: %d events, want %d", len(until), len(all)-2)
		}
		last := exportLines(t, s, "events", "tail", "-n", "3")
		if len(last) != 3 || last[2].ID != all[len(all)-1].ID || last[0].ID != all[len(all)-3].ID {
			t.Errorf("tail -n 3 = %+v; want the log's last three", last)
		}
		if n := len(exportLines(t, s, "events", "tail", "-n", "0")); n != len(all) {
			t.Errorf("tail -n 0 printed %d events, want all %d", n, len(all))
		}
		if _, err := s.ctl(t, "", "events", "export", "-f"); err == nil {
			t.Error("export -f accepted; following is tail's")
		}
	})
}

// TestTailFollows: tail -f prints events appended after it started, in
// commit order, until interrupted.
func TestTailFollows(t *testing.T) {
	eachStore(t, func(t *testing.T, s ctlStore) {
		h := writeHistory(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out := &syncBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, append(append([]string{}, s.flags...), "events", "tail", "-n", "1", "-f"), strings.NewReader(""), out)
		}()

		waitLines(t, out, 1) // the log's last event so far, before anything new

		p := openStore(t, s)
		defer p.Close()
		var ids []string
		for i := range 3 {
			msg := uuid.New()
			events, err := p.Store.Execute(ctx, domain.PostMessage{By: h.ada, RoomID: h.room, MessageID: msg, ClientID: uuid.New(),
				Body: "live " + itoa(int64(i))}, domain.Metadata{ActorID: h.ada.String()})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, events[0].ID.String())
		}
		waitLines(t, out, 4)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("tail -f ended with %v", err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 4 || !strings.Contains(lines[0], `"type":"MemberLeft"`) {
			t.Fatalf("tail -n 1 -f printed:\n%s\nwant the leave, then the three posts", out.String())
		}
		for i, id := range ids {
			if !strings.Contains(lines[i+1], id) {
				t.Errorf("line %d = %s; want event %s", i+2, lines[i+1], id)
			}
		}
	})
}

// waitLines polls until out holds n lines.
func waitLines(t *testing.T, out *syncBuffer, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(out.String(), "\n") < n {
		if time.Now().After(deadline) {
			t.Fatalf("tail -f printed in 20 s (want %d lines):\n%s", n, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer a test reads while chatctl writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
