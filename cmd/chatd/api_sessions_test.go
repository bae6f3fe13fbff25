package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/auth"
	"github.com/chatlog/chat/domain"
)

// TestAPIAccountEventsInLog: every account action is in the log with who
// did it and from where, and no password, token or hash is.
func TestAPIAccountEventsInLog(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		adminID := n.register("admin", "admin-password")
		admin := n.login("admin", "admin-password")
		bobID, bob := n.user(admin, "bob")
		n.must(http.StatusNoContent, "POST", "/api/logout", bob, nil)
		carolID := n.register("carol", "carol-password")
		n.must(http.StatusOK, "POST", "/api/admin/users/"+carolID+"/reject", admin, nil)
		dave := apiObject(t, n.must(http.StatusCreated, "POST", "/api/admin/users", admin,
			map[string]any{"username": "dave", "password": "dave-password", "roles": []string{"auditor"}}), "user")
		daveID := dave["id"].(string)
		daveToken := n.login("dave", "dave-password")
		n.must(http.StatusOK, "POST", "/api/admin/users/"+daveID+"/deactivate", admin, nil)

		events := apiEvents(t, n)
		want := []struct {
			typ, user, actor, by, extra string
		}{
			{"UserRegistered", bobID, "", "", `"username":"bob"`},
			{"UserApproved", bobID, adminID, adminID, ""},
			{"SessionStarted", bobID, bobID, "", ""},
			{"SessionEnded", bobID, bobID, "", `"reason":"logout"`},
			{"UserRejected", carolID, adminID, adminID, ""},
			{"UserRegistered", daveID, adminID, "", ""},
			{"UserApproved", daveID, adminID, adminID, ""},
			{"RoleGranted", daveID, adminID, adminID, `"role":"auditor"`},
			{"UserDeactivated", daveID, adminID, adminID, ""},
			{"SessionEnded", daveID, adminID, "", `"reason":"deactivated"`},
			{"RoleGranted", adminID, "", "", `"role":"admin"`},
		}
		for _, w := range want {
			apiFindAccountEvent(t, n, events, w.typ, w.user, w.actor, w.by, w.extra)
		}
		secrets := []string{"admin-password", "bob-password", "carol-password", "dave-password"}
		for _, tok := range []string{admin, bob, daveToken} {
			secrets = append(secrets, apiTokenForms(tok)...)
		}
		for _, name := range []string{"admin", "bob", "carol", "dave"} {
			_, hash, err := n.m.platform.DB.Credentials(context.Background(), name)
			if err != nil || len(hash) == 0 {
				t.Fatalf("stored hash of %s: %v", name, err)
			}
			parts := strings.Split(string(hash), "$")
			secrets = append(secrets, string(hash), parts[len(parts)-1], parts[len(parts)-2])
		}
		for _, e := range events {
			for _, s := range secrets {
				if bytes.Contains(e.Data, []byte(s)) || bytes.Contains(e.Metadata, []byte(s)) {
					t.Errorf("%s at %d holds the secret %q", e.Type, e.Position, s)
				}
			}
		}
	})
}

// apiTokenForms are the ways a token could leak: as is, and its stored
// hash raw, in hex and in base64.
func apiTokenForms(token string) []string {
	h := auth.HashToken(token)
	return []string{token, string(h), hex.EncodeToString(h), base64.StdEncoding.EncodeToString(h),
		base64.RawURLEncoding.EncodeToString(h), base64.RawStdEncoding.EncodeToString(h)}
}

// apiFindAccountEvent fails unless the log holds an event of typ on user's
// stream, caused by actor ("" = anonymous) from the test's address, with
// data.by = by when by is set and extra in its data.
func apiFindAccountEvent(t *testing.T, n *node, events []domain.Event, typ, user, actor, by, extra string) {
	t.Helper()
	for _, e := range events {
		if e.Type != typ || e.Stream != "user-"+user || !strings.Contains(string(e.Data), extra) {
			continue
		}
		m := apiMeta(t, e)
		var data struct {
			By *string `json:"by"`
		}
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatalf("%s data: %v", typ, err)
		}
		switch {
		case m.ActorID != actor:
			t.Errorf("%s of %s: actor %q, want %q", typ, user, m.ActorID, actor)
		case actor != "" && m.ActorName == "":
			t.Errorf("%s of %s: actor without a name: %s", typ, user, e.Metadata)
		case m.ClientAddr != "127.0.0.1" || m.Node != n.m.cfg.NodeID:
			t.Errorf("%s of %s: metadata %s, want client_addr 127.0.0.1 and node %s", typ, user, e.Metadata, n.m.cfg.NodeID)
		case by != "" && (data.By == nil || *data.By != by):
			t.Errorf("%s of %s: data %s, want by %s", typ, user, e.Data, by)
		}
		return
	}
	t.Errorf("no %s event of user %s with %s in the log", typ, user, extra)
}

// TestAPIDeactivationRevokes: deactivating a user ends all their sessions
// at once, bearer and cookie alike, and they can no longer log in.
func TestAPIDeactivationRevokes(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		bobID, first := n.user(admin, "bob")
		second := n.login("bob", "bob-password")
		r := n.must(http.StatusOK, "POST", "/api/admin/users/"+bobID+"/deactivate", admin, nil)
		apiCheckUser(t, apiObject(t, r, "user"), "bob", "deactivated")
		for _, tok := range []string{first, second} {
			apiWantError(t, "bearer of a deactivated user", n.call("GET", "/api/me", tok, nil), 401, "unauthorized", "")
			apiWantError(t, "cookie of a deactivated user", n.cookieCall("GET", "/api/rooms", tok, "", nil), 401, "unauthorized", "")
		}
		apiWantError(t, "log-in of a deactivated user", n.call("POST", "/api/login", "", credentials("bob", "bob-password")), 403, "rejected", "")
		apiWantError(t, "wrong password of a deactivated user", n.call("POST", "/api/login", "", credentials("bob", "not-bobs-password")), 401, "unauthorized", "")
		apiWantError(t, "deactivating again", n.call("POST", "/api/admin/users/"+bobID+"/deactivate", admin, nil), 409, "conflict", "")
		if names := apiNames(apiList(t, n.must(http.StatusOK, "GET", "/api/users", admin, nil), "users")); slices.Contains(names, "bob") {
			t.Errorf("GET /api/users lists the deactivated bob: %v", names)
		}
	})
}

// TestAPITwoNodes: two production nodes on one database. Logout on A ends
// the token on B at once; approval on A lets the user log in on B at once.
func TestAPITwoNodes(t *testing.T) {
	t.Parallel()
	d := production(t)
	a, b := d.start(t), d.start(t)
	admin := a.admin()
	b.must(http.StatusOK, "GET", "/api/me", admin, nil)
	for i := range 2 { // two rounds: "right after" must not depend on luck
		name := "user" + string(rune('a'+i))
		id := b.register(name, name+"-password")
		apiWantError(t, "pending log-in on B", b.call("POST", "/api/login", "", credentials(name, name+"-password")), 403, "pending_approval", "")
		a.must(http.StatusOK, "POST", "/api/admin/users/"+id+"/approve", admin, nil)
		token := b.login(name, name+"-password")
		a.must(http.StatusOK, "GET", "/api/me", token, nil)
		a.must(http.StatusNoContent, "POST", "/api/logout", token, nil)
		apiWantError(t, "token on B after logout on A", b.call("GET", "/api/me", token, nil), 401, "unauthorized", "")

		token = a.login(name, name+"-password")
		b.must(http.StatusOK, "GET", "/api/me", token, nil)
		b.must(http.StatusOK, "POST", "/api/admin/users/"+id+"/deactivate", admin, nil)
		apiWantError(t, "token on A after deactivation on B", a.call("GET", "/api/me", token, nil), 401, "unauthorized", "")
	}
}

// TestAPINoUserEnumeration: refusing an unknown username takes about as
// long as refusing a wrong password (both check an argon2id hash).
func TestAPINoUserEnumeration(t *testing.T) {
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		n.admin()
		const tries = 5 // under the default per-user burst of 10
		var wrong, unknown []time.Duration
		for i := range tries {
			wrong = append(wrong, apiTimeLogin(t, n, "admin"))
			unknown = append(unknown, apiTimeLogin(t, n, "ghost"+string(rune('a'+i))))
		}
		mw, mu := apiMedian(wrong), apiMedian(unknown)
		t.Logf("median refusal: wrong password %v, unknown user %v (of %v and %v)", mw, mu, wrong, unknown)
		if mu < mw/3 || mu > mw*3 {
			t.Fatalf("median refusal of an unknown user %v vs a wrong password %v: names can be told apart", mu, mw)
		}
	})
}

func apiTimeLogin(t *testing.T, n *node, name string) time.Duration {
	t.Helper()
	start := time.Now()
	r := n.call("POST", "/api/login", "", credentials(name, "not-the-password"))
	took := time.Since(start)
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("log-in as %s: %d %s, want 401", name, r.Status, r.Raw)
	}
	return took
}

func apiMedian(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestAPISessionLifetime: a session ends when its configured lifetime
// does, and the cookie lives as long.
func TestAPISessionLifetime(t *testing.T) {
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t, func(c *Config) { c.SessionTTL = time.Second })
		n.register("admin", "admin-password")
		// The lifetime starts inside the log-in request; timed from before
		// it, the session cannot end sooner than 1 s later, however long
		// the request takes on a loaded machine.
		beforeLogin := time.Now()
		r := n.must(http.StatusOK, "POST", "/api/login", "", credentials("admin", "admin-password"))
		token := r.Body["token"].(string)
		if c := apiSessionCookie(t, r); c.MaxAge != 1 {
			t.Errorf("cookie Max-Age %d, want the session's 1 s", c.MaxAge)
		}
		n.must(http.StatusOK, "GET", "/api/me", token, nil)
		apiEventually(t, "the session expires", func() bool {
			return n.call("GET", "/api/me", token, nil).Status == http.StatusUnauthorized
		})
		if took := time.Since(beforeLogin); took < 900*time.Millisecond {
			t.Fatalf("the session ended after %v, want about 1 s", took)
		}
	})
}
