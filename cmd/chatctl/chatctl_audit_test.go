package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/cmd/internal/platform"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// history is a room's story written straight through the store: bob joins,
// ada posts, then (after the moment `before`) ada edits and bob leaves.
type history struct {
	room, message uuid.UUID
	ada           uuid.UUID
	before        time.Time
	events        int
}

func writeHistory(t *testing.T, s ctlStore) history {
	t.Helper()
	ctx := context.Background()
	p := openStore(t, s)
	defer p.Close()
	ada, bob := uuid.New(), uuid.New()
	h := history{room: uuid.New(), message: uuid.New(), ada: ada}
	var last domain.Cursor
	run := func(cmds ...domain.Command) {
		t.Helper()
		for _, cmd := range cmds {
			events, err := p.Store.Execute(ctx, cmd, domain.Metadata{ActorID: ada.String(), ActorName: "ada"})
			if err != nil {
				t.Fatalf("%T: %v", cmd, err)
			}
			h.events += len(events)
			last = events[len(events)-1].Cursor()
		}
	}
	run(domain.RegisterUser{UserID: ada, Username: "ada", PasswordHash: []byte("x")},
		domain.RegisterUser{UserID: bob, Username: "bob", PasswordHash: []byte("y")},
		domain.ChangeStatus{By: &ada, UserID: bob, To: domain.Approve},
		domain.CreateRoom{By: ada, RoomID: h.room, Name: "general", Kind: domain.RoomPublic},
		domain.JoinRoom{By: bob, RoomID: h.room},
		domain.PostMessage{By: ada, RoomID: h.room, MessageID: h.message, ClientID: uuid.New(), Body: "first draft"})
	// Recorded times have millisecond precision: keep the moment clear of both.
	time.Sleep(5 * time.Millisecond)
	h.before = time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	run(domain.EditMessage{By: ada, RoomID: h.room, MessageID: h.message, Body: "final text"},
		domain.LeaveRoom{By: bob, RoomID: h.room})
	settle(t, p, last)
	return h
}

// settle waits until readers of the log in commit order see it up to c. In
// PostgreSQL that head stops below any transaction still open anywhere in
// the cluster (other tests' included), so it may lag the last append.
func settle(t *testing.T, p *platform.Platform, c domain.Cursor) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		head, err := p.DB.LogHead(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !head.Less(c) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log head stuck at %v, want %v", head, c)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReplayRoomAtAMoment(t *testing.T) {
	eachStore(t, func(t *testing.T, s ctlStore) {
		h := writeHistory(t, s)
		var then, now projections.RoomSnapshot
		out := s.mustCtl(t, "", "replay", "room", h.room.String(), "--at", h.before.Format(time.RFC3339Nano), "--json")
		if err := json.Unmarshal([]byte(out), &then); err != nil {
			t.Fatalf("replay --json: %v\n%s", err, out)
		}
		if then.Name != "general" || len(then.Members) != 2 || len(then.Messages) != 1 || then.Messages[0].Body != "first draft" {
			t.Errorf("room before the edit = %+v; want ada and bob, the first draft", then)
		}
		if err := json.Unmarshal([]byte(s.mustCtl(t, "", "replay", "room", h.room.String(), "--json")), &now); err != nil {
			t.Fatal(err)
		}
		if len(now.Members) != 1 || now.Members[0].Username != "ada" || now.Messages[0].Body != "final text" {
			t.Errorf("room now = %+v; want ada alone, the final text", now)
		}
		text := s.mustCtl(t, "", "replay", "room", h.room.String(), "--at", h.before.Format(time.RFC3339Nano))
		if !strings.Contains(text, "first draft") || !strings.Contains(text, "bob") {
			t.Errorf("text replay lacks the draft or bob:\n%s", text)
		}
		if _, err := s.ctl(t, "", "replay", "room", h.room.String(), "--at", "2001-01-01T00:00:00Z"); domain.ErrorCode(err) != domain.CodeNotFound {
			t.Errorf("replay before the room existed: %v, want not found", err)
		}
	})
}

func TestExportVerifyRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, s ctlStore) {
		h := writeHistory(t, s)
		export := s.mustCtl(t, "", "events", "export")
		lines := strings.Split(strings.TrimSpace(export), "\n")
		if len(lines) != h.events {
			t.Fatalf("export has %d lines, the store recorded %d events", len(lines), h.events)
		}
		file := filepath.Join(t.TempDir(), "export.jsonl")
		if err := os.WriteFile(file, []byte(export), 0o600); err != nil {
			t.Fatal(err)
		}
		// Offline: no store flags at all.
		var out strings.Builder
		if err := run(context.Background(), []string{"verify", "--file", file}, strings.NewReader(""), &out); err != nil {
			t.Fatalf("offline verify of a fresh export: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "intact") {
			t.Errorf("offline verify said:\n%s", out.String())
		}
		if got := s.mustCtl(t, "", "verify"); !strings.Contains(got, "intact") {
			t.Errorf("online verify said:\n%s", got)
		}

		forged := strings.Replace(export, "final text", "forged text", 1)
		if err := os.WriteFile(file, []byte(forged), 0o600); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		err := run(context.Background(), []string{"verify", "--file", file}, strings.NewReader(""), &out)
		if err == nil || !strings.Contains(out.String(), "room-"+h.room.String()) {
			t.Errorf("a forged export verified: %v\n%s", err, out.String())
		}

		room := s.mustCtl(t, "", "events", "export", "--stream", "room-"+h.room.String())
		if n := strings.Count(room, "\n"); n != 6 {
			t.Errorf("room stream export has %d events, want 6 (created, two joins, post, edit, leave)", n)
		}
	})
}

func TestProjectionsStatusAndRebuild(t *testing.T) {
	eachStore(t, func(t *testing.T, s ctlStore) {
		writeHistory(t, s)
		s.mustCtl(t, "", "users", "list") // catches the approval model up
		rebuilt := s.mustCtl(t, "", "projections", "rebuild", "approval")
		if !strings.Contains(rebuilt, "approval rebuilt and serving") {
			t.Errorf("rebuild said:\n%s", rebuilt)
		}
		status := s.mustCtl(t, "", "projections", "status")
		if !regexp.MustCompile(`(?m)^approval +2 +\S+ +0 +[0-9.]+ +live$`).MatchString(status) {
			t.Errorf("status after the rebuild does not show approval v2:\n%s", status)
		}
		if list := s.mustCtl(t, "", "users", "list"); !strings.Contains(list, "ada") || !strings.Contains(list, "bob") {
			t.Errorf("users after the rebuild:\n%s", list)
		}
	})
}

// TestVerifySealedExport: a sealed log verifies with its seal, online and
// from an export; an export with a stream's lines removed fails the seal.
func TestVerifySealedExport(t *testing.T) {
	eachStore(t, func(t *testing.T, s ctlStore) {
		h := writeHistory(t, s)
		sealLog(t, s)
		if got := s.mustCtl(t, "", "verify"); !strings.Contains(got, "seal: #1 over") || !strings.Contains(got, "intact") {
			t.Errorf("online verify of a sealed log:\n%s", got)
		}
		export := s.mustCtl(t, "", "events", "export")
		var kept []string
		for _, line := range strings.Split(strings.TrimSpace(export), "\n") {
			if !strings.Contains(line, `"stream":"room-`+h.room.String()+`"`) {
				kept = append(kept, line)
			}
		}
		file := filepath.Join(t.TempDir(), "export.jsonl")
		for name, content := range map[string]string{"whole": export, "without the room": strings.Join(kept, "\n") + "\n"} {
			if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			err := run(context.Background(), []string{"verify", "--file", file}, strings.NewReader(""), &out)
			if whole := name == "whole"; (err == nil) != whole {
				t.Errorf("offline verify of the %s export: %v\n%s", name, err, out.String())
			}
		}
	})
}

// sealLog appends a seal through the store, as chatd's sealer does.
func sealLog(t *testing.T, s ctlStore) {
	t.Helper()
	ctx := context.Background()
	p := openStore(t, s)
	defer p.Close()
	seal, err := (&eventstore.Sealer{Store: p.Store, Reader: p.DB}).Seal(ctx)
	if err != nil || seal == nil {
		t.Fatalf("seal: %+v, %v", seal, err)
	}
	seals, err := p.DB.ReadStream(ctx, domain.SealStream, 0, 100)
	if err != nil || len(seals) == 0 {
		t.Fatalf("read seals: %d, %v", len(seals), err)
	}
	settle(t, p, seals[len(seals)-1].Cursor())
}

// openStore opens the store chatctl's flags name, as chatd would.
func openStore(t *testing.T, s ctlStore) *platform.Platform {
	t.Helper()
	o := platform.Options{}
	if s.flags[0] == "--data-dir" {
		o.DataDir = s.flags[1]
	} else {
		o.DatabaseURL = s.flags[1]
	}
	p, err := platform.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProjectionsStatusStates: lag of a projection no server applies, the
// failed state past --max-lag, and an interrupted rebuild (a second version
// prepared beside the serving one) shown as rebuilding, then finished by a
// rerun while v1 served meanwhile.
func TestProjectionsStatusStates(t *testing.T) {
	eachStore(t, func(t *testing.T, s ctlStore) {
		writeHistory(t, s)
		row := func(status, name string) []string {
			t.Helper()
			for _, line := range strings.Split(status, "\n") {
				if f := strings.Fields(line); len(f) == 6 && f[0] == name {
					return f
				}
			}
			t.Fatalf("no %s row in:\n%s", name, status)
			return nil
		}
		// The oldest unapplied event must wait past --max-lag (10 ms) and
		// long enough to show in the seconds column, printed to 0.1 s.
		time.Sleep(150 * time.Millisecond)
		behind := row(s.mustCtl(t, "", "projections", "status", "--max-lag", "10ms"), "approval")
		if behind[3] == "0" || behind[4] == "0.0" || behind[5] != "failed" {
			t.Errorf("approval, never applied, past --max-lag: %v; want lag and failed", behind)
		}
		if f := row(s.mustCtl(t, "", "projections", "status", "--max-lag", "1h"), "approval"); f[5] != "live" {
			t.Errorf("approval within --max-lag: %v; want live", f)
		}
		s.mustCtl(t, "", "users", "list") // applies the log to approval
		if f := row(s.mustCtl(t, "", "projections", "status", "--max-lag", "10ms"), "approval"); f[3] != "0" || f[4] != "0.0" || f[5] != "live" {
			t.Errorf("approval caught up: %v; want no lag, live", f)
		}

		p := openStore(t, s)
		err := p.Projections.Prepare(context.Background(), "approval", 2) // as a rebuild cut short leaves it
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f := row(s.mustCtl(t, "", "projections", "status"), "approval"); f[1] != "1" || f[5] != "rebuilding" {
			t.Errorf("approval with v2 beside v1: %v; want v1 serving, rebuilding", f)
		}
		if list := s.mustCtl(t, "", "users", "list"); !strings.Contains(list, "bob") {
			t.Errorf("v1 stopped serving during the rebuild:\n%s", list)
		}
		s.mustCtl(t, "", "projections", "rebuild", "approval")
		if f := row(s.mustCtl(t, "", "projections", "status"), "approval"); f[1] != "2" || f[5] != "live" {
			t.Errorf("approval after the rerun: %v; want v2 live", f)
		}
	})
}
