package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/chatlog/chat/cmd/internal/testenv"
)

// deployment is where the nodes of one test keep their state: a data
// folder (embedded) or a database and Redis prefix (production).
type deployment struct {
	name        string
	dataDir     string
	databaseURL string
	redisURL    string
	redisPrefix string
}

// eachMode runs test once per mode: embedded, then production on the test
// PostgreSQL and Redis (skipped without them outside CI).
func eachMode(t *testing.T, test func(t *testing.T, d deployment)) {
	t.Run("embedded", func(t *testing.T) { test(t, embedded(t)) })
	t.Run("production", func(t *testing.T) { test(t, production(t)) })
}

func embedded(t *testing.T) deployment {
	return deployment{name: "embedded", dataDir: t.TempDir()}
}

func production(t *testing.T) deployment {
	redisURL, prefix := testenv.Redis(t)
	return deployment{name: "production", databaseURL: testenv.Postgres(t), redisURL: redisURL, redisPrefix: prefix}
}

// config is a node's configuration on d, listening on a free port.
func (d deployment) config(t *testing.T) Config {
	cfg, err := ParseConfig([]string{"--addr", "127.0.0.1:0", "--log-level", "warn"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.DatabaseURL, cfg.RedisURL, cfg.RedisPrefix = d.dataDir, d.databaseURL, d.redisURL, d.redisPrefix
	return cfg
}

// start runs a node on d until the test ends; edit adjusts its config.
func (d deployment) start(t *testing.T, edit ...func(*Config)) *node {
	t.Helper()
	cfg := d.config(t)
	for _, e := range edit {
		e(&cfg)
	}
	m := NewMain(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Start(ctx); err != nil {
		t.Fatalf("start chatd (%s): %v", d.name, err)
	}
	n := &node{t: t, m: m, URL: m.URL()}
	t.Cleanup(func() { n.stop() })
	return n
}

// node is one running chatd and a JSON client of it.
type node struct {
	t       *testing.T
	m       *Main
	URL     string
	stopped bool
}

func (n *node) stop() {
	if n.stopped {
		return
	}
	n.stopped = true
	if err := n.m.Close(); err != nil {
		n.t.Errorf("close chatd: %v", err)
	}
}

// response is an API answer: its status, headers and decoded JSON body.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// errorCode is the code of a PROTOCOL.md error envelope, "" otherwise.
func (r response) errorCode() string {
	e, _ := r.Body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// call sends a request with a bearer token (when token is not "") and a
// JSON body (a string is sent as is, anything else is encoded).
func (n *node) call(method, path, token string, body any, headers ...string) response {
	n.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		p, err := json.Marshal(b)
		if err != nil {
			n.t.Fatal(err)
		}
		rd = bytes.NewReader(p)
	}
	req, err := http.NewRequest(method, n.URL+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			n.t.Fatalf("%s %s: body is not JSON: %v\n%s", method, path, err, raw)
		}
	}
	return r
}

// must is call that fails the test unless the status is want.
func (n *node) must(want int, method, path, token string, body any) response {
	n.t.Helper()
	r := n.call(method, path, token, body)
	if r.Status != want {
		n.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Raw)
	}
	return r
}

// register creates an account and returns its id.
func (n *node) register(name, password string) string {
	n.t.Helper()
	r := n.must(http.StatusCreated, "POST", "/api/register", "", map[string]string{"username": name, "password": password})
	return r.Body["user"].(map[string]any)["id"].(string)
}

// login returns a session token.
func (n *node) login(name, password string) string {
	n.t.Helper()
	r := n.must(http.StatusOK, "POST", "/api/login", "", map[string]string{"username": name, "password": password})
	return r.Body["token"].(string)
}

// admin registers the first account (the admin) and returns its token.
func (n *node) admin() string {
	n.t.Helper()
	n.register("admin", "admin-password")
	return n.login("admin", "admin-password")
}

// user registers name, has the admin approve it, and returns its id and
// token.
func (n *node) user(adminToken, name string) (id, token string) {
	n.t.Helper()
	id = n.register(name, name+"-password")
	n.must(http.StatusOK, "POST", "/api/admin/users/"+id+"/approve", adminToken, nil)
	return id, n.login(name, name+"-password")
}
