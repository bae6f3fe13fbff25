package main

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// fakeServer is a small in-memory server of the PROTOCOL.md subset the bench
// uses, so the bench's own mechanics (set-up, pacing, resume, accounting)
// are tested without chatd. It can misbehave on purpose: drop or repeat one
// room seq for every subscriber, to prove the accounting notices.
type fakeServer struct {
	mu     sync.Mutex
	users  map[string]*fakeUser // by name
	tokens map[string]*fakeUser
	rooms  map[string]*fakeRoom
	dropAt int64 // seq never delivered live
	dupAt  int64 // seq delivered twice
	stopAt int64 // seqs from this one on are never delivered live (0: none)
	// replayLimit > 0 cuts resumes as PROTOCOL.md allows: at most that many
	// events replayed, truncated:true, the rest left to history paging.
	replayLimit int
	resumeDelay time.Duration // makes a resume miss events
	heartbeatMS int           // announced in hello; 0 announces 25000
	pings       map[*fakeConn][]time.Time
}

type fakeUser struct {
	id, name, pass, status string
	admin                  bool
}

type fakeRoom struct {
	id      string
	log     [][]byte // event frames; seq n is log[n-1]
	msgSeqs []int64  // seqs of message_posted events
	members map[string]bool
	subs    map[*fakeConn]bool
}

type fakeConn struct {
	mu   sync.Mutex
	conn net.Conn
	user *fakeUser
}

func (c *fakeConn) write(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = wsutil.WriteServerText(c.conn, p) // a dead client just misses frames, as with a real server
}

func newFakeServer() *fakeServer {
	return &fakeServer{users: map[string]*fakeUser{}, tokens: map[string]*fakeUser{}, rooms: map[string]*fakeRoom{},
		pings: map[*fakeConn][]time.Time{}}
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var in map[string]string
	_ = json.NewDecoder(r.Body).Decode(&in) // bodiless requests leave it empty
	me := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(status int, code string) {
		reply(status, map[string]any{"error": map[string]string{"code": code, "message": code}})
	}
	userJSON := func(u *fakeUser) map[string]any {
		return map[string]any{"id": u.id, "username": u.name, "status": u.status, "roles": []string{}}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/metrics":
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(w, "# HELP x\nprocess_resident_memory_bytes %d\ngo_memstats_heap_inuse_bytes %d\n", ms.Sys, ms.HeapInuse)
	case r.URL.Path == "/api/register" || r.URL.Path == "/api/admin/users":
		if r.URL.Path == "/api/admin/users" && (me == nil || !me.admin) {
			fail(403, "forbidden")
			return
		}
		if s.users[in["username"]] != nil {
			fail(409, "conflict")
			return
		}
		u := &fakeUser{id: randomID(), name: in["username"], pass: in["password"], status: "pending"}
		if len(s.users) == 0 || r.URL.Path == "/api/admin/users" {
			u.status, u.admin = "approved", len(s.users) == 0
		}
		s.users[u.name] = u
		reply(201, map[string]any{"user": userJSON(u)})
	case r.URL.Path == "/api/login":
		u := s.users[in["username"]]
		if u == nil || u.pass != in["password"] {
			fail(401, "unauthorized")
			return
		}
		tok := randomID()
		s.tokens[tok] = u
		reply(200, map[string]any{"token": tok, "user": userJSON(u)})
	case me == nil:
		fail(401, "unauthorized")
	case r.URL.Path == "/api/rooms":
		room := &fakeRoom{id: randomID(), members: map[string]bool{}, subs: map[*fakeConn]bool{}}
		s.rooms[room.id] = room
		s.appendEvent(room, me, "room_created", `{"name":"x","kind":"public"}`)
		s.join(room, me)
		reply(201, map[string]any{"room": map[string]any{"id": room.id, "head": len(room.log)}})
	case len(parts) == 4 && parts[3] == "messages" && s.rooms[parts[2]] != nil:
		s.pageForward(w, s.rooms[parts[2]], r)
	case len(parts) == 4 && parts[3] == "join" && s.rooms[parts[2]] != nil:
		s.join(s.rooms[parts[2]], me)
		reply(200, map[string]any{"room": map[string]any{"id": parts[2]}})
	case r.URL.Path == "/ws":
		s.mu.Unlock()
		defer s.mu.Lock()
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		go s.serveWS(&fakeConn{conn: conn, user: me})
	default:
		fail(404, "not_found")
	}
}

func (s *fakeServer) join(room *fakeRoom, u *fakeUser) {
	if !room.members[u.id] {
		room.members[u.id] = true
		s.appendEvent(room, u, "member_joined", fmt.Sprintf(`{"user":{"id":%q,"username":%q}}`, u.id, u.name))
	}
}

// appendEvent logs one event and sends it to the room's subscribers, under
// s.mu so every subscriber sees the room in seq order.
func (s *fakeServer) appendEvent(room *fakeRoom, actor *fakeUser, kind, data string) int64 {
	seq := int64(len(room.log) + 1)
	ev := fmt.Appendf(nil, `{"type":"event","room":%q,"seq":%d,"kind":%q,"at":"2026-11-28T10:42:44.123Z","actor":{"id":%q,"username":%q},"data":%s}`,
		room.id, seq, kind, actor.id, actor.name, data)
	room.log = append(room.log, ev)
	if seq == s.dropAt || (s.stopAt > 0 && seq >= s.stopAt) {
		return seq
	}
	for c := range room.subs {
		c.write(ev)
		if seq == s.dupAt {
			c.write(ev)
		}
	}
	return seq
}

func (s *fakeServer) serveWS(c *fakeConn) {
	defer c.conn.Close()
	s.mu.Lock()
	heartbeat := cmp.Or(s.heartbeatMS, 25000)
	s.mu.Unlock()
	c.write(fmt.Appendf(nil, `{"type":"hello","user":{"id":%q},"heartbeat_ms":%d}`, c.user.id, heartbeat))
	defer func() {
		s.mu.Lock()
		for _, r := range s.rooms {
			delete(r.subs, c)
		}
		s.mu.Unlock()
	}()
	for {
		p, err := wsutil.ReadClientText(c.conn)
		if err != nil {
			return
		}
		var f struct {
			Type, Room, Ref, Body string
			ClientID              string `json:"client_id"`
			After                 *int64
		}
		if err := json.Unmarshal(p, &f); err != nil {
			return
		}
		if f.After != nil {
			time.Sleep(s.resumeDelay)
		}
		s.handleWS(c, f.Type, f.Room, f.Ref, f.Body, f.After)
	}
}

func (s *fakeServer) handleWS(c *fakeConn, typ, roomID, ref, body string, after *int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	room := s.rooms[roomID]
	if typ == "ping" {
		s.pings[c] = append(s.pings[c], time.Now())
		c.write([]byte(`{"type":"pong"}`))
		return
	}
	if room == nil || !room.members[c.user.id] {
		c.write(fmt.Appendf(nil, `{"type":"error","ref":%q,"code":"forbidden","message":"no"}`, ref))
		return
	}
	switch typ {
	case "subscribe":
		var replay [][]byte
		if after != nil {
			replay = room.log[min(*after, int64(len(room.log))):]
		}
		truncated := s.replayLimit > 0 && len(replay) > s.replayLimit
		if truncated {
			replay = replay[len(replay)-s.replayLimit:] // the newest: the client pages the older ones
		}
		c.write(fmt.Appendf(nil, `{"type":"subscribed","ref":%q,"room":%q,"head":%d,"truncated":%t}`, ref, room.id, len(room.log), truncated))
		for _, ev := range replay {
			c.write(ev)
		}
		room.subs[c] = true
	case "send":
		data, _ := json.Marshal(map[string]string{"id": randomID(), "body": body, "client_id": ref}) // strings always encode
		seq := s.appendEvent(room, c.user, "message_posted", string(data))
		room.msgSeqs = append(room.msgSeqs, seq)
		c.write(fmt.Appendf(nil, `{"type":"ack","ref":%q,"room":%q,"seq":%d}`, ref, room.id, seq))
	}
}

// pageForward answers GET /api/rooms/{id}/messages?after=N&limit=M with
// only the fields the bench reads.
func (s *fakeServer) pageForward(w http.ResponseWriter, room *fakeRoom, r *http.Request) {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64) // absent: from the start
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	type msg struct {
		Seq int64 `json:"seq"`
	}
	out := struct {
		Messages []msg `json:"messages"`
		HasMore  bool  `json:"has_more"`
	}{Messages: []msg{}}
	for _, seq := range room.msgSeqs {
		if seq <= after {
			continue
		}
		if len(out.Messages) == limit {
			out.HasMore = true
			break
		}
		out.Messages = append(out.Messages, msg{seq})
	}
	_ = json.NewEncoder(w).Encode(out) // a broken pipe is the client's problem
}
