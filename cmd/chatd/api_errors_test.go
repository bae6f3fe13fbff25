package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// badCase is one row of issue 3's "Bad input" table: a request the API must
// refuse with status and code, naming field, without appending an event.
type badCase struct {
	name         string
	method, path string
	token        string // "" sends no credentials
	body         any
	status       int
	code, field  string
}

// apiRefusesAll runs the cases and checks no event was appended by any.
func apiRefusesAll(t *testing.T, n *node, cases []badCase) {
	t.Helper()
	before := apiRequestEvents(t, n)
	for _, c := range cases {
		r := n.call(c.method, c.path, c.token, c.body)
		apiWantError(t, c.name+": "+c.method+" "+c.path, r, c.status, c.code, c.field)
		if after := apiRequestEvents(t, n); after != before {
			t.Fatalf("%s: the log grew from %d to %d events", c.name, before, after)
		}
	}
}

// credentialRows are the bad bodies of register and log-in alike.
func credentialRows(path string) []badCase {
	long := strings.Repeat("a", 33)
	rows := []struct {
		name, body, field string
	}{
		{"malformed JSON", `{"username": "carol", "password":`, "body"},
		{"not JSON", `username=carol`, "body"},
		{"empty body", ``, "body"},
		{"not an object", `["carol", "carol-password"]`, "body"},
		{"two objects", `{"username":"carol","password":"carol-password"}{}`, "body"},
		{"unknown field", `{"username":"carol","password":"carol-password","admin":true}`, "admin"},
		{"username a number", `{"username":42,"password":"carol-password"}`, "username"},
		{"password a list", `{"username":"carol","password":["carol-password"]}`, "password"},
		{"username null", `{"username":null,"password":"carol-password"}`, "username"},
		{"username missing", `{"password":"carol-password"}`, "username"},
		{"password missing", `{"username":"carol"}`, "password"},
		{"username empty", `{"username":"","password":"carol-password"}`, "username"},
		{"username too short", `{"username":"ab","password":"carol-password"}`, "username"},
		{"username too long", `{"username":"` + long + `","password":"carol-password"}`, "username"},
		{"username with a space", `{"username":"car ol","password":"carol-password"}`, "username"},
		{"username with a slash", `{"username":"car/ol","password":"carol-password"}`, "username"},
		{"username not ASCII", `{"username":"carolé","password":"carol-password"}`, "username"},
		{"username with a plus", `{"username":"carol+1","password":"carol-password"}`, "username"},
		{"password empty", `{"username":"carol","password":""}`, "password"},
		{"password of 7", `{"username":"carol","password":"1234567"}`, "password"},
		{"password of 7 two-byte runes", `{"username":"carol","password":"ééééééé"}`, "password"},
		{"password of 257", `{"username":"carol","password":"` + strings.Repeat("p", 257) + `"}`, "password"},
	}
	var out []badCase
	for _, r := range rows {
		out = append(out, badCase{r.name, "POST", path, "", r.body, http.StatusBadRequest, "bad_request", r.field})
	}
	return out
}

// TestAPIBadAccountInput sends every bad register, log-in and admin-create
// body: 400 naming the field, and the log unchanged.
func TestAPIBadAccountInput(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		var cases []badCase
		cases = append(cases, credentialRows("/api/register")...)
		cases = append(cases, credentialRows("/api/login")...)
		for _, c := range credentialRows("/api/admin/users") {
			c.token = admin
			cases = append(cases, c)
		}
		cases = append(cases,
			badCase{"roles not a list", "POST", "/api/admin/users", admin,
				`{"username":"carol","password":"carol-password","roles":"admin"}`, 400, "bad_request", "roles"},
			badCase{"unknown role", "POST", "/api/admin/users", admin,
				`{"username":"carol","password":"carol-password","roles":["root"]}`, 400, "bad_request", "roles"},
			badCase{"status filter", "GET", "/api/admin/users?status=banned", admin, nil, 400, "bad_request", "status"},
		)
		apiRefusesAll(t, n, cases)

		// The limits' edges are accepted: 3 and 32 characters, 8 and 256
		// characters (256 two-byte runes are 512 bytes), upper case lowered.
		for _, ok := range []map[string]string{
			credentials("abc", "12345678"),
			credentials(strings.Repeat("z", 32), strings.Repeat("é", 256)),
			credentials("Dot.Dash-Under_9", "carol-password"),
		} {
			r := n.must(http.StatusCreated, "POST", "/api/register", "", ok)
			if got := apiObject(t, r, "user")["username"]; got != strings.ToLower(ok["username"]) {
				t.Errorf("registered %q as %v, want it lower-cased", ok["username"], got)
			}
		}
		r := n.call("POST", "/api/register", "", credentials("DOT.dash-under_9", "another-password"))
		apiWantError(t, "a taken name in other case", r, http.StatusConflict, "conflict", "username")
	})
}

// TestAPIBodyLimit: bodies over 64 KiB are 413 too_large on every JSON
// endpoint, whatever their content; 64 KiB itself is read.
func TestAPIBodyLimit(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		room := apiObject(t, n.must(http.StatusCreated, "POST", "/api/rooms", admin, map[string]string{"name": "big", "kind": "public"}), "room")["id"].(string)
		huge := `{"username":"` + strings.Repeat("a", 70_000) + `","password":"carol-password"}`
		padded := strings.Repeat(" ", 64<<10) + `{"username":"carol","password":"carol-password"}`
		msg := `{"client_id":"` + uuid.NewString() + `","body":"` + strings.Repeat("b", 70_000) + `"}`
		before := apiRequestEvents(t, n)
		for _, c := range []struct{ path, body string }{
			{"/api/register", huge}, {"/api/login", huge}, {"/api/register", padded},
			{"/api/admin/users", huge}, {"/api/rooms", `{"name":"` + strings.Repeat("n", 70_000) + `","kind":"public"}`},
			{"/api/rooms/" + room + "/messages", msg}, {"/api/rooms/" + room + "/members", `{"user":"` + strings.Repeat("u", 70_000) + `"}`},
		} {
			r := n.rawPost(c.path, admin, bytes.NewBufferString(c.body))
			apiWantError(t, "POST "+c.path+" with "+c.body[:20], r, http.StatusRequestEntityTooLarge, "too_large", "body")
		}
		if after := apiRequestEvents(t, n); after != before {
			t.Fatalf("over-long bodies appended %d events", after-before)
		}
		// Exactly 64 KiB (white space pads a valid body) is within the limit.
		body := `{"name":"edge","kind":"public"}`
		body = strings.Repeat(" ", 64<<10-len(body)) + body
		if r := n.rawPost("/api/rooms", admin, bytes.NewBufferString(body)); r.Status != http.StatusCreated {
			t.Fatalf("a 64 KiB body: %d %s, want 201", r.Status, r.Raw)
		}
	})
}

// TestAPIUnauthenticated: every authenticated endpoint answers 401 to a
// missing, unknown, malformed or non-bearer credential.
func TestAPIUnauthenticated(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		n.admin()
		id := uuid.NewString()
		endpoints := []struct{ method, path string }{
			{"POST", "/api/logout"}, {"GET", "/api/me"}, {"GET", "/api/users"},
			{"GET", "/api/admin/users"}, {"POST", "/api/admin/users"},
			{"POST", "/api/admin/users/" + id + "/approve"}, {"POST", "/api/admin/users/" + id + "/reject"},
			{"POST", "/api/admin/users/" + id + "/deactivate"},
			{"GET", "/api/rooms"}, {"POST", "/api/rooms"}, {"GET", "/api/rooms/" + id},
			{"POST", "/api/rooms/" + id + "/join"}, {"POST", "/api/rooms/" + id + "/leave"},
			{"POST", "/api/rooms/" + id + "/members"}, {"GET", "/api/rooms/" + id + "/members"},
			{"POST", "/api/direct/" + id}, {"GET", "/api/rooms/" + id + "/messages"},
			{"POST", "/api/rooms/" + id + "/messages"}, {"GET", "/api/search?q=x"},
		}
		before := apiRequestEvents(t, n)
		for _, e := range endpoints {
			for _, creds := range [][]string{
				nil,
				{"Authorization", "Bearer "},
				{"Authorization", "Bearer not-a-token"},
				{"Authorization", "Basic YWRtaW46YWRtaW4tcGFzc3dvcmQ="},
				{"Cookie", "chat_session=not-a-token"},
			} {
				r := n.call(e.method, e.path, "", `{}`, creds...)
				apiWantError(t, e.method+" "+e.path+" with "+strings.Join(creds, ": "), r, http.StatusUnauthorized, "unauthorized", "")
			}
		}
		if after := apiRequestEvents(t, n); after != before {
			t.Fatalf("unauthenticated requests appended %d events", after-before)
		}
		r := n.call("GET", "/api/no-such-thing", "", nil)
		apiWantError(t, "unknown endpoint", r, http.StatusNotFound, "not_found", "")
	})
}

// TestAPINonAdmins: an approved user without the admin role gets 403 on
// every admin endpoint, and nothing is appended (auditors:
// TestAPICreateAccounts).
func TestAPINonAdmins(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		bobID, bob := n.user(admin, "bob")
		pending := n.register("carol", "carol-password")
		cases := []badCase{
			{"list", "GET", "/api/admin/users", bob, nil, 403, "forbidden", ""},
			{"list pending", "GET", "/api/admin/users?status=pending", bob, nil, 403, "forbidden", ""},
			{"create", "POST", "/api/admin/users", bob, credentials("dave", "dave-password"), 403, "forbidden", ""},
			{"approve", "POST", "/api/admin/users/" + pending + "/approve", bob, nil, 403, "forbidden", ""},
			{"reject", "POST", "/api/admin/users/" + pending + "/reject", bob, nil, 403, "forbidden", ""},
			{"deactivate", "POST", "/api/admin/users/" + bobID + "/deactivate", bob, nil, 403, "forbidden", ""},
		}
		apiRefusesAll(t, n, cases)
	})
}
