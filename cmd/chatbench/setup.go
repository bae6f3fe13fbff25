package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// The bench's own view of the protocol's JSON, kept apart from the server's
// types so a server that drifts from PROTOCOL.md fails here.
type apiUser struct {
	ID       string   `json:"id"`
	Username string   `json:"username"`
	Status   string   `json:"status"`
	Roles    []string `json:"roles"`
}

type apiRoom struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Head int64  `json:"head"`
}

type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message) }

func isConflict(err error) bool {
	var e *apiError
	return errors.As(err, &e) && e.Code == "conflict"
}

// api speaks the HTTP half of the protocol. Requests rotate over several
// source addresses because the server limits log-ins per address, and a
// load test logs in many users from one machine.
type api struct {
	base    string
	clients []*http.Client
	next    atomic.Uint32
}

func newAPI(base string, sources []*net.TCPAddr) *api {
	a := &api{base: base}
	if len(sources) == 0 {
		sources = []*net.TCPAddr{nil}
	}
	for _, src := range sources {
		d := newDialer(src, 10*time.Second)
		tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 8}
		a.clients = append(a.clients, &http.Client{Transport: tr, Timeout: 30 * time.Second})
	}
	return a
}

// do sends one request and decodes a 2xx body into out. It waits and
// retries while the server answers 429, as a polite client would.
func (a *api) do(ctx context.Context, method, path, token string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
	}
	for {
		cl := a.clients[int(a.next.Add(1))%len(a.clients)]
		req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := cl.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: read body: %w", method, path, err)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After")) // absent or bad: retry after 1 s
			select {
			case <-time.After(time.Duration(max(wait, 1)) * time.Second):
				continue
			case <-ctx.Done():
				return fmt.Errorf("%s %s: rate limited: %w", method, path, ctx.Err())
			}
		}
		if resp.StatusCode/100 != 2 {
			var env struct{ Error apiError }
			if err := json.Unmarshal(raw, &env); err != nil {
				env.Error = apiError{Message: string(raw)}
			}
			env.Error.Status = resp.StatusCode
			return fmt.Errorf("%s %s: %w", method, path, &env.Error)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
		return nil
	}
}

func (a *api) login(ctx context.Context, name, password string) (string, apiUser, error) {
	var out struct {
		Token string  `json:"token"`
		User  apiUser `json:"user"`
	}
	err := a.do(ctx, "POST", "/api/login", "", map[string]string{"username": name, "password": password}, &out)
	return out.Token, out.User, err
}

type benchUser struct {
	apiUser
	token  string
	header ws.HandshakeHeader
}

// fixture is what setup leaves behind for a scenario.
type fixture struct {
	admin string // token
	users []benchUser
	rooms []apiRoom
}

const userPassword = "chatbench-password"

// setup logs the admin in (registering it when the server is fresh),
// creates and logs in the users, creates the rooms and joins every user to
// the rooms its clients will subscribe to: client i is user i%users in
// room i%rooms.
func setup(ctx context.Context, cfg *config, a *api) (*fixture, error) {
	start := time.Now()
	fx := &fixture{}
	var err error
	if fx.admin, err = adminToken(ctx, cfg, a); err != nil {
		return nil, err
	}
	fx.users = make([]benchUser, cfg.users)
	err = parallel(ctx, cfg.users, 4, func(i int) error {
		u := &fx.users[i]
		name := fmt.Sprintf("%s-%d", cfg.userPrefix, i)
		var out struct{ User apiUser }
		in := map[string]any{"username": name, "password": userPassword, "roles": []string{}}
		// A user a run with the same --user-prefix created is reused: it has
		// chatbench's password, and hashing it again is most of the set-up.
		if err := a.do(ctx, "POST", "/api/admin/users", fx.admin, in, &out); err != nil && !isConflict(err) {
			return fmt.Errorf("create user %s: %w", name, err)
		}
		tok, user, err := a.login(ctx, name, userPassword)
		if err != nil {
			return fmt.Errorf("log in %s: %w", name, err)
		}
		u.apiUser, u.token = user, tok
		u.header = ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + tok}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	fx.rooms = make([]apiRoom, cfg.rooms)
	err = parallel(ctx, cfg.rooms, 4, func(i int) error {
		var out struct{ Room apiRoom }
		in := map[string]string{"name": fmt.Sprintf("%s room %d", cfg.userPrefix, i), "kind": "public"}
		if err := a.do(ctx, "POST", "/api/rooms", fx.admin, in, &out); err != nil {
			return fmt.Errorf("create room %d: %w", i, err)
		}
		fx.rooms[i] = out.Room
		return nil
	})
	if err != nil {
		return nil, err
	}
	pairs := memberships(cfg.clients, cfg.users, cfg.rooms)
	err = parallel(ctx, len(pairs), 8, func(i int) error {
		u, r := fx.users[pairs[i][0]], fx.rooms[pairs[i][1]]
		if err := a.do(ctx, "POST", "/api/rooms/"+r.ID+"/join", u.token, nil, nil); err != nil {
			return fmt.Errorf("join %s to room %s: %w", u.Username, r.ID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slog.Info("setup done", "users", cfg.users, "rooms", cfg.rooms, "memberships", len(pairs), "took", time.Since(start).Round(time.Millisecond))
	return fx, nil
}

// memberships lists the distinct (user, room) pairs the clients need.
func memberships(clients, users, rooms int) [][2]int {
	seen := make(map[[2]int]bool)
	var out [][2]int
	for i := 0; i < clients; i++ {
		p := [2]int{i % users, i % rooms}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func adminToken(ctx context.Context, cfg *config, a *api) (string, error) {
	tok, _, err := a.login(ctx, cfg.adminUser, cfg.adminPassword)
	if err == nil {
		return tok, nil
	}
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		return "", fmt.Errorf("log in admin %s: %w", cfg.adminUser, err)
	}
	// A fresh server: the first account registered becomes its admin.
	var out struct{ User apiUser }
	in := map[string]string{"username": cfg.adminUser, "password": cfg.adminPassword}
	if err := a.do(ctx, "POST", "/api/register", "", in, &out); err != nil {
		return "", fmt.Errorf("register admin %s (pass --admin-user/--admin-password of an existing admin): %w", cfg.adminUser, err)
	}
	if out.User.Status != "approved" {
		return "", fmt.Errorf("registered %s but it is %s, not the admin: the server already has users; pass --admin-user/--admin-password", cfg.adminUser, out.User.Status)
	}
	tok, _, err = a.login(ctx, cfg.adminUser, cfg.adminPassword)
	if err != nil {
		return "", fmt.Errorf("log in new admin %s: %w", cfg.adminUser, err)
	}
	return tok, nil
}

// parallel runs fn(0..n-1) on at most workers goroutines and returns the
// first error, after which the remaining items are not started.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		failed   atomic.Bool
	)
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return nil
}

// scrapeMemory sums process_resident_memory_bytes and
// go_memstats_heap_inuse_bytes over the given servers' /metrics.
func scrapeMemory(ctx context.Context, bases []string) (rss, heap float64, err error) {
	for _, b := range bases {
		req, err := http.NewRequestWithContext(ctx, "GET", b+"/metrics", nil)
		if err != nil {
			return 0, 0, fmt.Errorf("metrics request: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, fmt.Errorf("scrape %s/metrics: %w", b, err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("read %s/metrics: %w", b, err)
		}
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("scrape %s/metrics: HTTP %d", b, resp.StatusCode)
		}
		r, okR := metricValue(raw, "process_resident_memory_bytes")
		h, okH := metricValue(raw, "go_memstats_heap_inuse_bytes")
		if !okR || !okH {
			return 0, 0, fmt.Errorf("%s/metrics lacks process_resident_memory_bytes or go_memstats_heap_inuse_bytes", b)
		}
		rss += r
		heap += h
	}
	return rss, heap, nil
}

// metricValue finds an unlabelled sample in Prometheus text format.
func metricValue(text []byte, name string) (float64, bool) {
	for _, line := range bytes.Split(text, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte(name+" "))
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(string(bytes.TrimSpace(rest)), 64)
		return v, err == nil
	}
	return 0, false
}
