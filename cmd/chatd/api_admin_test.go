package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestAPIAdministration covers the admin endpoints: listing by status,
// approve, reject, deactivate with their conflicts, and creating accounts.
func TestAPIAdministration(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		bob := n.register("bob", "bob-password")
		carol := n.register("carol", "carol-password")
		dave := n.register("dave", "dave-password")
		apiWantStatuses(t, n, admin, "pending", "bob", "carol", "dave")

		approved := n.must(http.StatusOK, "POST", "/api/admin/users/"+bob+"/approve", admin, nil)
		apiCheckUser(t, apiObject(t, approved, "user"), "bob", "approved")
		rejected := n.must(http.StatusOK, "POST", "/api/admin/users/"+carol+"/reject", admin, nil)
		apiCheckUser(t, apiObject(t, rejected, "user"), "carol", "rejected")
		apiWantStatuses(t, n, admin, "pending", "dave")
		apiWantStatuses(t, n, admin, "approved", "admin", "bob")
		apiWantStatuses(t, n, admin, "rejected", "carol")
		apiWantStatuses(t, n, admin, "", "admin", "bob", "carol", "dave")
		apiWantError(t, "rejected log-in", n.call("POST", "/api/login", "", credentials("carol", "carol-password")), 403, "rejected", "")

		adminID := apiObject(t, n.must(http.StatusOK, "GET", "/api/me", admin, nil), "user")["id"].(string)
		cases := []badCase{
			{"approve an approved user", "POST", "/api/admin/users/" + bob + "/approve", admin, nil, 409, "conflict", ""},
			{"reject an approved user", "POST", "/api/admin/users/" + bob + "/reject", admin, nil, 409, "conflict", ""},
			{"approve a rejected user", "POST", "/api/admin/users/" + carol + "/approve", admin, nil, 409, "conflict", ""},
			{"reject a rejected user", "POST", "/api/admin/users/" + carol + "/reject", admin, nil, 409, "conflict", ""},
			{"approve the admin", "POST", "/api/admin/users/" + adminID + "/approve", admin, nil, 409, "conflict", ""},
			{"deactivate oneself", "POST", "/api/admin/users/" + adminID + "/deactivate", admin, nil, 409, "conflict", ""},
			{"approve an unknown id", "POST", "/api/admin/users/" + uuid.NewString() + "/approve", admin, nil, 404, "not_found", ""},
			{"approve a non-id", "POST", "/api/admin/users/bob/approve", admin, nil, 404, "not_found", ""},
			{"unknown action", "POST", "/api/admin/users/" + dave + "/promote", admin, nil, 404, "not_found", ""},
			{"create a taken name", "POST", "/api/admin/users", admin, credentials("BOB", "another-password"), 409, "conflict", "username"},
		}
		apiRefusesAll(t, n, cases)

		n.must(http.StatusOK, "POST", "/api/admin/users/"+dave+"/deactivate", admin, nil) // pending accounts too
		apiWantStatuses(t, n, admin, "deactivated", "dave")
		apiWantError(t, "approve a deactivated user", n.call("POST", "/api/admin/users/"+dave+"/approve", admin, nil), 409, "conflict", "")
	})
}

// TestAPICreateAccounts: an admin creates approved accounts with roles; a
// created admin administers, a created auditor does not.
func TestAPICreateAccounts(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		for _, c := range []struct {
			name  string
			roles []string
		}{{"erin", []string{"auditor"}}, {"frank", []string{"admin", "auditor"}}, {"grace", []string{}}, {"heidi", nil}} {
			body := map[string]any{"username": c.name, "password": c.name + "-password"}
			if c.roles != nil {
				body["roles"] = c.roles
			}
			r := n.must(http.StatusCreated, "POST", "/api/admin/users", admin, body)
			apiCheckUser(t, apiObject(t, r, "user"), c.name, "approved", c.roles...)
		}
		apiWantStatuses(t, n, admin, "approved", "admin", "erin", "frank", "grace", "heidi")
		frank := n.login("frank", "frank-password")
		me := n.must(http.StatusOK, "GET", "/api/me", frank, nil)
		apiCheckUser(t, apiObject(t, me, "user"), "frank", "approved", "admin", "auditor")
		pending := n.register("ivan", "ivan-password")
		n.must(http.StatusOK, "POST", "/api/admin/users/"+pending+"/approve", frank, nil)
		erin := n.login("erin", "erin-password")
		apiWantError(t, "auditor approving", n.call("GET", "/api/admin/users", erin, nil), 403, "forbidden", "")
	})
}

// apiWantStatuses fails unless GET /api/admin/users?status=status lists
// exactly names, each with that status.
func apiWantStatuses(t *testing.T, n *node, admin, status string, names ...string) {
	t.Helper()
	users := apiList(t, n.must(http.StatusOK, "GET", "/api/admin/users?status="+status, admin, nil), "users")
	got := apiNames(users)
	if !slices.Equal(got, names) {
		t.Errorf("users with status %q: %v, want %v", status, got, names)
	}
	for _, u := range users {
		if status != "" && u["status"] != status {
			t.Errorf("listed under %q: %v", status, u)
		}
	}
}

// TestAPIUserDirectory: GET /api/users lists approved users only, with
// online and last_seen, to every approved user.
func TestAPIUserDirectory(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		_, bob := n.user(admin, "bob")
		n.register("carol", "carol-password")
		rejected := n.register("dave", "dave-password")
		n.must(http.StatusOK, "POST", "/api/admin/users/"+rejected+"/reject", admin, nil)
		users := apiList(t, n.must(http.StatusOK, "GET", "/api/users", bob, nil), "users")
		if got := apiNames(users); strings.Join(got, ",") != "admin,bob" {
			t.Fatalf("directory %v, want the approved admin and bob", got)
		}
		for _, u := range users {
			_, hasSeen := u["last_seen"]
			online, isBool := u["online"].(bool)
			if len(u) != 4 || !wireID.MatchString(u["id"].(string)) || !isBool || online || !hasSeen {
				t.Errorf("directory entry %v: want id, username, online (false: no socket) and last_seen", u)
			}
			if seen, ok := u["last_seen"].(string); u["last_seen"] != nil && (!ok || !wireTime.MatchString(seen)) {
				t.Errorf("last_seen %v: want null or a wire time", u["last_seen"])
			}
		}
	})
}
