package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestRebuildUnderLoad rebuilds the history read model while several
// clients post and read: no request fails, the rebuilt version serves
// every acknowledged message, and it equals a version rebuilt again once
// the traffic stopped.
func TestRebuildUnderLoad(t *testing.T) {
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		room := n.must(http.StatusCreated, "POST", "/api/rooms", admin, map[string]string{"name": "load", "kind": "public"})
		roomID := room.Body["room"].(map[string]any)["id"].(string)
		var tokens []string
		for i := range 3 {
			_, token := n.user(admin, fmt.Sprintf("writer%d", i))
			n.must(http.StatusOK, "POST", "/api/rooms/"+roomID+"/join", token, nil)
			tokens = append(tokens, token)
		}
		for i := range 200 { // a log worth rebuilding
			post(t, n, tokens[i%3], roomID, fmt.Sprintf("before %d", i))
		}
		old := messagesOnceServed(t, n, admin, roomID, 200) // as v1 serves them

		stop := make(chan struct{})
		var failures, posted atomic.Int64
		var wg sync.WaitGroup
		for _, token := range tokens {
			wg.Go(func() { trafficUntil(n, token, roomID, stop, &failures, &posted) })
		}
		time.Sleep(100 * time.Millisecond) // traffic is flowing when the rebuild starts
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := n.m.bus.runner.Rebuild(ctx, "history", nil); err != nil {
			t.Fatalf("rebuild under load: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // and after it switched
		close(stop)
		wg.Wait()
		if failures.Load() != 0 || posted.Load() == 0 {
			t.Fatalf("%d requests failed during the rebuild (%d messages posted)", failures.Load(), posted.Load())
		}
		if serving, _, err := n.m.platform.Projections.Versions(ctx, "history"); err != nil || serving != 2 {
			t.Fatalf("history serves v%d (%v) after the rebuild, want v2", serving, err)
		}

		live := messagesOnceServed(t, n, admin, roomID, 200+int(posted.Load()))
		if want := 200 + int(posted.Load()); len(live) != want || len(old) != 200 {
			t.Fatalf("rebuilt history holds %d messages, %d were acknowledged (v1 served %d before)", len(live), want, len(old))
		}
		for i := range old { // row by row, the new version serves what the old one did
			if string(live[i]) != string(old[i]) {
				t.Fatalf("message %d differs:\nv1 %s\nv2 %s", i, old[i], live[i])
			}
		}
		if err := n.m.bus.runner.Rebuild(ctx, "history", nil); err != nil {
			t.Fatalf("quiet rebuild: %v", err)
		}
		quiet := allMessages(t, n, admin, roomID)
		if len(quiet) != len(live) {
			t.Fatalf("quiet rebuild holds %d messages, the one under load %d", len(quiet), len(live))
		}
		for i := range live {
			if string(live[i]) != string(quiet[i]) {
				t.Fatalf("message %d differs:\nunder load %s\nquiet      %s", i, live[i], quiet[i])
			}
		}
	})
}

// messagesOnceServed polls a room's history until it serves want messages
// (reads follow the log a moment behind the acks).
func messagesOnceServed(t *testing.T, n *node, token, room string, want int) []json.RawMessage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := allMessages(t, n, token, room)
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func post(t *testing.T, n *node, token, room, body string) {
	t.Helper()
	n.must(http.StatusCreated, "POST", "/api/rooms/"+room+"/messages", token,
		map[string]string{"client_id": uuid.NewString(), "body": body})
}

// trafficUntil posts and reads until stop, counting failed requests.
func trafficUntil(n *node, token, room string, stop <-chan struct{}, failures, posted *atomic.Int64) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		r := n.call("POST", "/api/rooms/"+room+"/messages", token,
			map[string]string{"client_id": uuid.NewString(), "body": fmt.Sprintf("during %d", i)})
		if r.Status != http.StatusCreated {
			failures.Add(1)
			continue
		}
		posted.Add(1)
		if r := n.call("GET", "/api/rooms/"+room+"/messages?limit=20", token, nil); r.Status != http.StatusOK {
			failures.Add(1)
		}
	}
}

// allMessages pages a room's history forward and returns each message's
// JSON as served.
func allMessages(t *testing.T, n *node, token, room string) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	after := int64(0)
	for {
		r := n.must(http.StatusOK, "GET", fmt.Sprintf("/api/rooms/%s/messages?after=%d&limit=200", room, after), token, nil)
		var page struct {
			Messages []json.RawMessage `json:"messages"`
			HasMore  bool              `json:"has_more"`
		}
		if err := json.Unmarshal(r.Raw, &page); err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Messages...)
		if !page.HasMore || len(page.Messages) == 0 {
			return out
		}
		var last struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal(page.Messages[len(page.Messages)-1], &last); err != nil {
			t.Fatal(err)
		}
		after = last.Seq
	}
}
