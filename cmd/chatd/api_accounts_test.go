package main

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/auth"
	"github.com/chatlog/chat/adapters/httpapi"
)

// wireTime is PROTOCOL.md's time format: UTC, exactly milliseconds.
var wireTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// wireID is a lower-case UUIDv7.
var wireID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// apiCheckUser fails unless u is a User of PROTOCOL.md with name, status
// and roles.
func apiCheckUser(t *testing.T, u map[string]any, name, status string, roles ...string) {
	t.Helper()
	id, _ := u["id"].(string)
	created, _ := u["created_at"].(string)
	got, ok := u["roles"].([]any)
	if !wireID.MatchString(id) || !wireTime.MatchString(created) || !ok || len(u) != 5 {
		t.Errorf("user %v: want id, username, status, roles (a list) and created_at", u)
	}
	var gotRoles []string
	for _, r := range got {
		gotRoles = append(gotRoles, r.(string))
	}
	if u["username"] != name || u["status"] != status || strings.Join(gotRoles, ",") != strings.Join(roles, ",") {
		t.Errorf("user = %v, want %s %s roles %v", u, name, status, roles)
	}
}

// TestAPISessions walks register, log-in, me and logout, with the session
// cookie's attributes and both kinds of failed log-in.
func TestAPISessions(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		first := n.must(http.StatusCreated, "POST", "/api/register", "", credentials("admin", "admin-password"))
		apiCheckUser(t, apiObject(t, first, "user"), "admin", "approved", "admin")
		second := n.must(http.StatusCreated, "POST", "/api/register", "", credentials("Bob", "bob-password"))
		apiCheckUser(t, apiObject(t, second, "user"), "bob", "pending")

		r := n.call("POST", "/api/login", "", credentials("bob", "bob-password"))
		apiWantError(t, "pending log-in", r, http.StatusForbidden, "pending_approval", "")
		wrong := n.call("POST", "/api/login", "", credentials("admin", "wrong-password"))
		apiWantError(t, "wrong password", wrong, http.StatusUnauthorized, "unauthorized", "")
		unknown := n.call("POST", "/api/login", "", credentials("nobody", "wrong-password"))
		apiWantError(t, "unknown user", unknown, http.StatusUnauthorized, "unauthorized", "")
		if string(wrong.Raw) != string(unknown.Raw) {
			t.Errorf("wrong password says %s, unknown user %s: want the same answer", wrong.Raw, unknown.Raw)
		}

		login := n.must(http.StatusOK, "POST", "/api/login", "", credentials("ADMIN", "admin-password"))
		token, _ := login.Body["token"].(string)
		apiCheckUser(t, apiObject(t, login, "user"), "admin", "approved", "admin")
		if !regexp.MustCompile(`^[A-Za-z0-9_-]{43,}$`).MatchString(token) {
			t.Errorf("token %q: want at least 256 bits, URL-safe", token)
		}
		cookie := apiSessionCookie(t, login)
		if cookie.Value != token || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.Path != "/" || cookie.MaxAge <= 0 {
			t.Errorf("session cookie %s: want the token, HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP", cookie)
		}

		me := n.must(http.StatusOK, "GET", "/api/me", token, nil)
		apiCheckUser(t, apiObject(t, me, "user"), "admin", "approved", "admin")
		if r := n.cookieCall("GET", "/api/me", token, "", nil); r.Status != http.StatusOK {
			t.Fatalf("GET /api/me by cookie: %d %s", r.Status, r.Raw)
		}
		other := n.login("admin", "admin-password") // a second session survives the first's logout
		out := n.must(http.StatusNoContent, "POST", "/api/logout", token, nil)
		if len(out.Raw) != 0 {
			t.Errorf("logout body %q, want none", out.Raw)
		}
		if c := apiSessionCookie(t, out); c.Value != "" || c.MaxAge >= 0 {
			t.Errorf("logout cookie %s, want it cleared", c)
		}
		for _, r := range []response{n.call("GET", "/api/me", token, nil), n.cookieCall("GET", "/api/me", token, "", nil),
			n.call("POST", "/api/logout", token, nil)} {
			apiWantError(t, "a logged-out token", r, http.StatusUnauthorized, "unauthorized", "")
		}
		n.must(http.StatusOK, "GET", "/api/me", other, nil)
	})
}

func apiSessionCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == httpapi.CookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", httpapi.CookieName, r.Header)
	return nil
}

// TestAPICSRF: cookie-authenticated writes need a same-origin Origin;
// reads and bearer requests do not. Behind a TLS proxy the cookie is Secure.
func TestAPICSRF(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t, func(c *Config) {
			c.TrustProxy = true
			c.AllowedOrigins = []string{"https://app.example"}
		})
		token := n.admin()
		room := map[string]string{"name": "csrf", "kind": "public"}
		before := apiRequestEvents(t, n)
		for _, origin := range []string{"", "null", "http://evil.example", strings.Replace(n.URL, "127.0.0.1", "localhost", 1)} {
			r := n.cookieCall("POST", "/api/rooms", token, origin, room)
			apiWantError(t, "cookie write with Origin "+origin, r, http.StatusForbidden, "forbidden", "")
			r = n.cookieCall("POST", "/api/logout", token, origin, nil)
			apiWantError(t, "cookie logout with Origin "+origin, r, http.StatusForbidden, "forbidden", "")
		}
		if after := apiRequestEvents(t, n); after != before {
			t.Fatalf("refused cross-origin writes appended %d events", after-before)
		}
		n.must(http.StatusOK, "GET", "/api/me", token, nil)
		if r := n.cookieCall("GET", "/api/rooms", token, "http://evil.example", nil); r.Status != http.StatusOK {
			t.Errorf("cookie read: %d %s, want 200", r.Status, r.Raw)
		}
		for _, origin := range []string{n.URL, strings.ToUpper(n.URL), "https://app.example"} {
			if r := n.cookieCall("POST", "/api/rooms", token, origin, room); r.Status != http.StatusCreated {
				t.Errorf("cookie write with Origin %s: %d %s, want 201", origin, r.Status, r.Raw)
			}
		}
		if r := n.call("POST", "/api/rooms", token, room, "Origin", "http://evil.example"); r.Status != http.StatusCreated {
			t.Errorf("bearer write from a foreign origin: %d %s, want 201", r.Status, r.Raw)
		}
		if r := n.cookieCall("POST", "/api/logout", token, n.URL, nil); r.Status != http.StatusNoContent {
			t.Errorf("same-origin cookie logout: %d %s, want 204", r.Status, r.Raw)
		}
		apiWantError(t, "bearer after cookie logout", n.call("GET", "/api/me", token, nil), 401, "unauthorized", "")
		r := n.call("POST", "/api/login", "", credentials("admin", "admin-password"), "X-Forwarded-Proto", "https")
		if c := apiSessionCookie(t, r); !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie behind a TLS proxy: %s, want Secure, HttpOnly, SameSite=Lax", c)
		}
	})
}

// TestAPIFirstRegistrationRace: of simultaneous first registrations,
// exactly one becomes the admin; the others wait for approval.
func TestAPIFirstRegistrationRace(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		const racers = 6
		var wg sync.WaitGroup
		start := make(chan struct{})
		results := make([]response, racers)
		for i := range racers {
			wg.Go(func() {
				<-start
				results[i] = n.call("POST", "/api/register", "", credentials("racer"+string(rune('a'+i)), "racer-password"))
			})
		}
		close(start)
		wg.Wait()
		admins := 0
		for i, r := range results {
			if r.Status != http.StatusCreated {
				t.Fatalf("registration %d: %d %s", i, r.Status, r.Raw)
			}
			if u := apiObject(t, r, "user"); u["status"] == "approved" {
				admins++
			}
		}
		listed := apiList(t, n.must(http.StatusOK, "GET", "/api/admin/users?status=approved", n.loginAdmin(results), nil), "users")
		if admins != 1 || len(listed) != 1 {
			t.Fatalf("%d registrations answered approved and %d are listed approved, want exactly one admin", admins, len(listed))
		}
		granted := 0
		for _, e := range apiEvents(t, n) {
			if e.Type == "RoleGranted" {
				granted++
			}
		}
		if granted != 1 {
			t.Fatalf("the log grants admin %d times, want once", granted)
		}
	})
}

// loginAdmin logs in as the one approved registration of results.
func (n *node) loginAdmin(results []response) string {
	for _, r := range results {
		if u, _ := r.Body["user"].(map[string]any); u["status"] == "approved" {
			return n.login(u["username"].(string), "racer-password")
		}
	}
	n.t.Fatal("no registration was approved")
	return ""
}

// TestAPIRateLimits: log-in attempts per username and per address, and
// registrations per address, get 429 with Retry-After once over the limit,
// without appending events.
func TestAPIRateLimits(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t, func(c *Config) { c.TrustProxy = true },
			withLimits(auth.NewLimiter(time.Hour, 3), auth.NewLimiter(time.Hour, 4), auth.NewLimiter(time.Hour, 2)))
		from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }
		post := func(path string, body any, addr string) response {
			return n.call("POST", path, "", body, from(addr)...)
		}
		post("/api/register", credentials("admin", "admin-password"), "10.0.0.1")
		post("/api/register", credentials("bob", "bob-password"), "10.0.0.1")
		before := apiRequestEvents(t, n)
		apiWantLimited(t, "third registration from one address", post("/api/register", credentials("carol", "carol-password"), "10.0.0.1"))
		if after := apiRequestEvents(t, n); after != before {
			t.Fatalf("a refused registration appended %d events", after-before)
		}
		if r := post("/api/register", credentials("carol", "carol-password"), "10.0.0.2"); r.Status != http.StatusCreated {
			t.Fatalf("registration from another address: %d %s", r.Status, r.Raw)
		}
		// Per username: three attempts from three addresses, then even the
		// right password from a fourth is refused.
		for i := range 3 {
			apiWantError(t, "wrong password", post("/api/login", credentials("admin", "wrong-password"), "10.0.1."+string(rune('1'+i))), 401, "unauthorized", "")
		}
		apiWantLimited(t, "fourth log-in as admin", post("/api/login", credentials("admin", "admin-password"), "10.0.1.9"))
		// Per address: four attempts on four names, then a fifth name is refused.
		for _, name := range []string{"u1x", "u2x", "u3x", "u4x"} {
			apiWantError(t, "unknown user", post("/api/login", credentials(name, "some-password"), "10.0.2.1"), 401, "unauthorized", "")
		}
		apiWantLimited(t, "fifth log-in from one address", post("/api/login", credentials("u5x", "some-password"), "10.0.2.1"))
		if r := post("/api/login", credentials("u5x", "some-password"), "10.0.2.2"); r.Status != http.StatusUnauthorized {
			t.Errorf("log-in from another address: %d %s, want 401", r.Status, r.Raw)
		}
	})
}

func apiWantLimited(t *testing.T, what string, r response) {
	t.Helper()
	apiWantError(t, what, r, http.StatusTooManyRequests, "rate_limited", "")
	secs := r.Header.Get("Retry-After")
	if !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(secs) || len(secs) > 4 {
		t.Errorf("%s: Retry-After %q, want whole seconds up to the hour", what, secs)
	}
}
