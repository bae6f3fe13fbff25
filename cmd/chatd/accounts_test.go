package main

import (
	"net/http"
	"testing"
)

// TestApprovalFlow is the README's walk-through: the first account is an
// approved admin, the second waits for approval, and logs in once approved.
func TestApprovalFlow(t *testing.T) {
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		me := n.must(http.StatusOK, "GET", "/api/me", admin, nil)
		if u := me.Body["user"].(map[string]any); u["status"] != "approved" || u["roles"].([]any)[0] != "admin" {
			t.Fatalf("first account = %v, want an approved admin", u)
		}
		bob := n.register("bob", "bob-password")
		if r := n.call("POST", "/api/login", "", map[string]string{"username": "bob", "password": "bob-password"}); r.Status != http.StatusForbidden || r.errorCode() != "pending_approval" {
			t.Fatalf("pending log-in: %d %s, want 403 pending_approval", r.Status, r.Raw)
		}
		n.must(http.StatusOK, "POST", "/api/admin/users/"+bob+"/approve", admin, nil)
		token := n.login("bob", "bob-password")
		n.must(http.StatusOK, "GET", "/api/me", token, nil)
	})
}
