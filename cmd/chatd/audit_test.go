package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/sqlite"
	"github.com/chatlog/chat/domain"
	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"
)

// TestAuditEvents reads the raw log through /api/audit/events: commit
// order, paging by position, a stream filter, the hash fields, the roles
// that may read it, and the bad parameters.
func TestAuditEvents(t *testing.T) {
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		bobID, bob := n.user(admin, "bob")
		n.must(http.StatusCreated, "POST", "/api/admin/users", admin,
			map[string]any{"username": "audrey", "password": "audrey-password", "roles": []string{"auditor"}})
		auditor := n.login("audrey", "audrey-password")

		all := auditPage(t, n, auditor, "limit=5000")
		events := all.Body["events"].([]any)
		if len(events) < 8 {
			t.Fatalf("log has %d events, want the account events at least", len(events))
		}
		first := events[0].(map[string]any)
		if first["version"].(float64) != 1 || first["prev_hash"] != strings.Repeat("0", 64) || len(first["hash"].(string)) != 64 {
			t.Errorf("first event = %v; want version 1, a zero prev_hash and a hex hash", first)
		}
		last := events[len(events)-1].(map[string]any)
		if head := all.Body["head"].(float64); head < last["position"].(float64) {
			t.Errorf("head %v is before the last event's position %v", head, last["position"])
		}
		sawActor := false
		for _, e := range events {
			if a, ok := e.(map[string]any)["actor"].(map[string]any); ok && a["username"] == "admin" {
				sawActor = true
			}
		}
		if !sawActor {
			t.Error("no event names the admin as its actor")
		}

		// Paging by position continues exactly where the first page ended.
		third := events[2].(map[string]any)["position"].(float64)
		rest := auditPage(t, n, auditor, fmt.Sprintf("after=%d&limit=5000", int64(third))).Body["events"].([]any)
		if len(rest) != len(events)-3 || rest[0].(map[string]any)["position"] != events[3].(map[string]any)["position"] {
			t.Errorf("after the third event: %d events starting %v; want %d starting at the fourth", len(rest), rest[0], len(events)-3)
		}
		two := auditPage(t, n, auditor, "limit=2").Body["events"].([]any)
		if len(two) != 2 {
			t.Errorf("limit=2 gave %d events", len(two))
		}

		stream := "user-" + bobID
		bobs := auditPage(t, n, admin, "stream="+stream+"&limit=100").Body["events"].([]any)
		if len(bobs) < 2 {
			t.Fatalf("bob's stream has %d events, want registered and approved", len(bobs))
		}
		for i, e := range bobs {
			ev := e.(map[string]any)
			if ev["stream"] != stream || ev["version"].(float64) != float64(i+1) {
				t.Errorf("bob's stream event %d = %v", i, ev)
			}
		}

		if r := n.call("GET", "/api/audit/events", bob, nil); r.Status != http.StatusForbidden {
			t.Errorf("a plain user reading the log: %d, want 403", r.Status)
		}
		for _, bad := range []string{"limit=5001", "limit=0", "after=-1", "after=abc", "after=999999999"} {
			if r := n.call("GET", "/api/audit/events?"+bad, auditor, nil); r.Status != http.StatusBadRequest || r.errorCode() != "bad_request" {
				t.Errorf("%s: %d %s, want 400 bad_request", bad, r.Status, r.Raw)
			}
		}
	})
}

func auditPage(t *testing.T, n *node, token, query string) response {
	t.Helper()
	return n.must(http.StatusOK, "GET", "/api/audit/events?"+query, token, nil)
}

// TestAuditVerifyCatchesTampering: an intact log verifies; a row edited
// behind the application's back (as a superuser, triggers off) is named.
func TestAuditVerifyCatchesTampering(t *testing.T) {
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		bobID, _ := n.user(admin, "bob")
		rep := n.must(http.StatusOK, "GET", "/api/audit/verify", admin, nil).Body
		if rep["ok"] != true || rep["first_bad"] != nil || rep["events"].(float64) < 5 || rep["streams"].(float64) < 3 {
			t.Fatalf("intact log verified as %v", rep)
		}
		tamperRow(t, d, "user-"+bobID, 1)
		rep = n.must(http.StatusOK, "GET", "/api/audit/verify", admin, nil).Body
		bad, _ := rep["first_bad"].(map[string]any)
		if rep["ok"] != false || bad["stream"] != "user-"+bobID || bad["version"].(float64) != 1 {
			t.Fatalf("tampered log verified as %v; want bob's first event named", rep)
		}
	})
}

// tamperRow rewrites one event's data the way only a superuser could.
func tamperRow(t *testing.T, d deployment, stream string, version int64) {
	t.Helper()
	const forged = `{"user_id":"00000000-0000-0000-0000-000000000000","username":"mallory"}`
	asSuperuser(t, d,
		[]string{"DROP TRIGGER events_no_update",
			fmt.Sprintf("UPDATE events SET data = '%s' WHERE stream = '%s' AND version = %d", forged, stream, version)},
		"UPDATE events SET data = $1 WHERE stream = $2 AND version = $3", forged, stream, version)
}

// asSuperuser changes the log behind its protections: on SQLite by
// running sqliteStmts on the file (dropping a trigger first), on
// PostgreSQL by running pgStmt with the triggers off for the session.
func asSuperuser(t *testing.T, d deployment, sqliteStmts []string, pgStmt string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if d.databaseURL == "" {
		db, err := openSQLiteBehindChatd(d)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range sqliteStmts {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("as superuser: %s: %v", q, err)
			}
		}
		return
	}
	conn, err := pgx.Connect(ctx, d.databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, pgStmt, args...); err != nil {
		t.Fatalf("as superuser: %s: %v", pgStmt, err)
	}
}

// TestSealCatchesDeletedStream: the node seals the log on its own; after
// a superuser deletes a whole room (every remaining chain still holds),
// /api/audit/verify blames the seal.
func TestSealCatchesDeletedStream(t *testing.T) {
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t, func(c *Config) { c.SealInterval = 50 * time.Millisecond })
		admin := n.admin()
		room := n.must(http.StatusCreated, "POST", "/api/rooms", admin, map[string]string{"name": "secret", "kind": "private"})
		roomID := room.Body["room"].(map[string]any)["id"].(string)
		post(t, n, admin, roomID, "something to hide")
		// The room's last event, not the log's head: a seal may already
		// follow it, and no later seal covers a seal alone.
		roomEvents := auditPage(t, n, admin, "stream=room-"+roomID+"&limit=100").Body["events"].([]any)
		pos := int64(roomEvents[len(roomEvents)-1].(map[string]any)["position"].(float64))
		last, ok, err := n.m.platform.DB.CursorAt(context.Background(), pos)
		if err != nil || !ok {
			t.Fatalf("cursor of position %d: %v, %v", pos, ok, err)
		}

		// Seals cover the log as commit-order readers see it, which a
		// transaction open anywhere in a shared cluster may hold back.
		deadline := time.Now().Add(30 * time.Second)
		for !sealedPast(t, n, admin, last) {
			if time.Now().After(deadline) {
				t.Fatalf("no seal covers the room's last event %v after 30 s", last)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if rep := n.must(http.StatusOK, "GET", "/api/audit/verify", admin, nil).Body; rep["ok"] != true {
			t.Fatalf("sealed intact log verified as %v", rep)
		}
		cutStream(t, d, "room-"+roomID)
		rep := n.must(http.StatusOK, "GET", "/api/audit/verify", admin, nil).Body
		bad, _ := rep["first_bad"].(map[string]any)
		if rep["ok"] != false || bad["stream"] != "seals" {
			t.Fatalf("after deleting the room verify said %v; want the seal blamed", rep)
		}
		// The rows went, the room's head row stayed: verify names the room.
		if reason, _ := rep["reason"].(string); !strings.Contains(reason, "room-"+roomID+" (head 3, events up to 0)") {
			t.Errorf("the reason does not name the deleted room: %q", reason)
		}
	})
}

// sealedPast reports whether a seal covers the log up to cursor c.
func sealedPast(t *testing.T, n *node, token string, c domain.Cursor) bool {
	for _, e := range auditPage(t, n, token, "stream=seals&limit=5000").Body["events"].([]any) {
		upTo := e.(map[string]any)["data"].(map[string]any)["up_to"].(map[string]any)
		if !(domain.Cursor{TxID: uint64(upTo["tx"].(float64)), Position: int64(upTo["pos"].(float64))}).Less(c) {
			return true
		}
	}
	return false
}

// cutStream deletes a whole stream behind the log's protections.
func cutStream(t *testing.T, d deployment, stream string) {
	t.Helper()
	asSuperuser(t, d, []string{"DROP TRIGGER events_no_delete", "DELETE FROM events WHERE stream = '" + stream + "'"},
		"DELETE FROM events WHERE stream = $1", stream)
}

// openSQLiteBehindChatd opens the embedded store's file beside the running
// node, waiting out its write lock (busy_timeout) instead of failing with
// SQLITE_BUSY when the node is writing.
func openSQLiteBehindChatd(d deployment) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+filepath.Join(d.dataDir, sqlite.FileName)+"?_pragma=busy_timeout(10000)")
}
