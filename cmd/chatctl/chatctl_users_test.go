package main

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestUsersWithoutServer: chatctl creates and lists accounts on a store no
// server runs on, and refuses bad names, passwords and command lines.
func TestUsersWithoutServer(t *testing.T) {
	eachStore(t, func(t *testing.T, s ctlStore) {
		out := s.mustCtl(t, "alice-password\n", "users", "create", "Alice", "--roles", "admin,auditor")
		if !regexp.MustCompile(`^created alice \([0-9a-f-]{36}\), approved\n$`).MatchString(out) {
			t.Errorf("create said %q", out)
		}
		for _, bad := range []struct {
			stdin string
			args  []string
			want  string
		}{
			{"short\n", []string{"users", "create", "bob"}, "password"},
			{"bob-password\n", []string{"users", "create", "b b"}, "username"},
			{"bob-password\n", []string{"users", "create", "bob", "--roles", "root"}, "role"},
			{"alice-password\n", []string{"users", "create", "ALICE"}, "taken"},
			{"", []string{"users", "approve", "nobody"}, "nobody"},
			{"", []string{"users", "approve", "alice"}, "not pending"},
			{"", []string{"users", "grant", "alice", "root"}, "role"},
			{"", []string{"users", "list", "--status", "banned"}, "status"},
		} {
			if out, err := s.ctl(t, bad.stdin, bad.args...); err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("chatctl %v: %v (output %q), want an error about %s", bad.args, err, out, bad.want)
			}
		}
		for _, args := range [][]string{{}, {"users"}, {"users", "frob"}, {"users", "approve"}, {"users", "grant", "alice"},
			{"users", "create"}, {"users", "list", "extra", "--status"}, {"nope"}} {
			if _, err := s.ctl(t, "", args...); !errors.Is(err, errUsage) {
				t.Errorf("chatctl %v: %v, want the usage", args, err)
			}
		}
		list := s.mustCtl(t, "", "users", "list")
		if !regexp.MustCompile(`(?m)^[0-9a-f-]{36}\s+alice\s+approved\s+admin,auditor\s+\d{4}-`).MatchString(list) || strings.Count(list, "\n") != 2 {
			t.Errorf("users list:\n%s\nwant the header and alice, approved, admin,auditor", list)
		}
	})
}

// TestUsersWithRunningServer: what chatctl changes, a running chatd sees:
// approval lets a user log in right after, rejection and deactivation
// refuse them, grants show in their roles.
func TestUsersWithRunningServer(t *testing.T) {
	eachStore(t, func(t *testing.T, s ctlStore) {
		s.mustCtl(t, "alice-password\n", "users", "create", "alice", "--roles", "admin")
		url := startChatd(t, s)
		for _, name := range []string{"bob", "carol", "dave"} {
			if code, body := api(t, "POST", url+"/api/register", "", map[string]string{"username": name, "password": name + "-password"}); code != http.StatusCreated {
				t.Fatalf("register %s: %d %v", name, code, body)
			}
		}
		pending := s.mustCtl(t, "", "users", "list", "--status", "pending")
		for _, name := range []string{"bob", "carol", "dave"} {
			if !strings.Contains(pending, " "+name+" ") {
				t.Errorf("pending list lacks %s:\n%s", name, pending)
			}
		}
		if strings.Contains(pending, "alice") {
			t.Errorf("pending list holds the approved alice:\n%s", pending)
		}

		s.mustCtl(t, "", "users", "approve", "bob")
		bob := ctlLogin(t, url, "bob", http.StatusOK)
		s.mustCtl(t, "", "users", "reject", "carol")
		ctlLogin(t, url, "carol", http.StatusForbidden)
		daveID := regexp.MustCompile(`([0-9a-f-]{36})\s+dave\s`).FindStringSubmatch(pending)[1]
		s.mustCtl(t, "", "users", "approve", daveID)
		ctlLogin(t, url, "dave", http.StatusOK)

		s.mustCtl(t, "", "users", "grant", "bob", "admin")
		ctlEventually(t, "bob administers", func() bool {
			code, _ := api(t, "GET", url+"/api/admin/users", bob, nil)
			return code == http.StatusOK
		})
		s.mustCtl(t, "", "users", "deactivate", "bob")
		if code, body := api(t, "GET", url+"/api/me", bob, nil); code != http.StatusUnauthorized {
			t.Errorf("bob's token right after deactivation: %d %v, want 401", code, body)
		}
		ctlLogin(t, url, "bob", http.StatusForbidden)

		list := s.mustCtl(t, "", "users", "list")
		for _, want := range []string{`alice\s+approved\s+admin`, `bob\s+deactivated\s+admin`, `carol\s+rejected`, `dave\s+approved`} {
			if !regexp.MustCompile(want).MatchString(list) {
				t.Errorf("users list lacks %s:\n%s", want, list)
			}
		}
	})
}

// ctlLogin logs name in on the server and wants status; it returns the
// token of a successful log-in.
func ctlLogin(t *testing.T, url, name string, want int) string {
	t.Helper()
	code, body := api(t, "POST", url+"/api/login", "", map[string]string{"username": name, "password": name + "-password"})
	if code != want {
		t.Fatalf("log-in of %s: %d %v, want %d", name, code, body, want)
	}
	token, _ := body["token"].(string)
	if want == http.StatusOK {
		if code, body := api(t, "GET", url+"/api/me", token, nil); code != http.StatusOK {
			t.Fatalf("%s's token right after log-in: %d %v", name, code, body)
		}
	}
	return token
}

func ctlEventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
