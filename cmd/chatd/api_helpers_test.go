package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/auth"
	"github.com/chatlog/chat/adapters/httpapi"
	"github.com/chatlog/chat/domain"
)

// Helpers of the API acceptance tests (api_*_test.go).

// apiEvents reads the whole log of n's deployment, in commit order. The
// log hides an event while an older transaction is still running (so
// tailers never skip one), so it reads until every event the stream heads
// count is there.
func apiEvents(t *testing.T, n *node) []domain.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want := 0
	for _, v := range apiHeads(t, n) {
		want += v
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		all := apiReadAll(ctx, t, n)
		if len(all) >= want {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log shows %d events, the stream heads %d", len(all), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func apiReadAll(ctx context.Context, t *testing.T, n *node) []domain.Event {
	t.Helper()
	var all []domain.Event
	after := domain.Cursor{}
	for range 1000 { // bounded: 1000 pages of 500 is far more than any test writes
		page, err := n.m.platform.DB.ReadAll(ctx, after, 500)
		if err != nil {
			t.Fatalf("read the log: %v", err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].Cursor()
	}
	t.Fatal("the log does not end")
	return nil
}

// apiHeads returns the version of every stream: its event count, current
// the moment an append commits.
func apiHeads(t *testing.T, n *node) map[string]int {
	t.Helper()
	heads, err := n.m.platform.DB.Heads(context.Background())
	if err != nil {
		t.Fatalf("stream heads: %v", err)
	}
	out := map[string]int{}
	for name, h := range heads {
		out[name] = int(h.Version)
	}
	return out
}

// apiRequestEvents counts the events requests caused: everything but the
// nodes' own bookkeeping, which a node may append at any moment.
func apiRequestEvents(t *testing.T, n *node) int {
	t.Helper()
	count := 0
	for name, v := range apiHeads(t, n) {
		if !strings.HasPrefix(name, "node-") {
			count += v
		}
	}
	return count
}

// apiMeta decodes an event's metadata.
func apiMeta(t *testing.T, e domain.Event) domain.Metadata {
	t.Helper()
	var m domain.Metadata
	if err := json.Unmarshal(e.Metadata, &m); err != nil {
		t.Fatalf("metadata of %s at %d: %v", e.Type, e.Position, err)
	}
	return m
}

// apiWantError fails unless r is the error envelope with status and code
// and, when field is not "", a message naming field.
func apiWantError(t *testing.T, what string, r response, status int, code, field string) {
	t.Helper()
	e, _ := r.Body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	if r.Status != status || r.errorCode() != code || msg == "" {
		t.Errorf("%s: %d %s, want %d %s in the error envelope", what, r.Status, r.Raw, status, code)
		return
	}
	if field != "" && !strings.Contains(msg, field) {
		t.Errorf("%s: message %q does not name the field %q", what, msg, field)
	}
}

// apiObject returns the object under key of a response body.
func apiObject(t *testing.T, r response, key string) map[string]any {
	t.Helper()
	v, ok := r.Body[key].(map[string]any)
	if !ok {
		t.Fatalf("body has no object %q: %s", key, r.Raw)
	}
	return v
}

// apiList returns the list under key of a response body.
func apiList(t *testing.T, r response, key string) []map[string]any {
	t.Helper()
	raw, ok := r.Body[key].([]any)
	if !ok {
		t.Fatalf("body has no list %q: %s", key, r.Raw)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// apiNames lists the "username" (or "name") of each object.
func apiNames(items []map[string]any) []string {
	var names []string
	for _, it := range items {
		if s, ok := it["username"].(string); ok {
			names = append(names, s)
		} else if s, ok := it["name"].(string); ok {
			names = append(names, s)
		}
	}
	slices.Sort(names)
	return names
}

// cookieCall sends a request authenticated by the session cookie, with
// origin as the Origin header ("" sends none).
func (n *node) cookieCall(method, path, token, origin string, body any) response {
	n.t.Helper()
	headers := []string{"Cookie", httpapi.CookieName + "=" + token}
	if origin != "" {
		headers = append(headers, "Origin", origin)
	}
	return n.call(method, path, "", body, headers...)
}

// rawPost sends body as is and reports the status and error code; used
// for bodies call would not send unchanged.
func (n *node) rawPost(path, token string, body io.Reader) response {
	n.t.Helper()
	req, err := http.NewRequest("POST", n.URL+path, body)
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

// withLimits gives a node small rate limits, through the test hook.
func withLimits(loginPerUser, loginPerAddr, registerPerAddr *auth.Limiter) func(*Config) {
	return func(c *Config) {
		c.editAPI = func(a *httpapi.Config) {
			a.LoginPerUser, a.LoginPerAddr, a.RegisterPerAddr = loginPerUser, loginPerAddr, registerPerAddr
		}
	}
}

// credentials is a register or log-in body.
func credentials(name, password string) map[string]string {
	return map[string]string{"username": name, "password": password}
}
