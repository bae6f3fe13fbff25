package main

import (
	"net/http"
	"strings"
	"testing"

	gws "github.com/gobwas/ws"
	"github.com/google/uuid"
)

// wsStored counts the events of the log that requests caused, leaving out
// presence (sockets opening and closing record it) and node bookkeeping.
func wsStored(t *testing.T, n *node) int {
	t.Helper()
	count := 0
	for _, e := range apiEvents(t, n) {
		if e.Type != "UserConnected" && e.Type != "UserDisconnected" && !strings.HasPrefix(e.Stream, "node-") {
			count++
		}
	}
	return count
}

// wsBadSetup is a node with alice (the abuser) and bob (a bystander who
// must keep chatting in the room throughout).
type wsBadSetup struct {
	n                 *node
	aliceTok, bobTok  string
	room, priv, other string
	bob               *wsClient
	head              int64
}

func wsSetUpBad(t *testing.T, d deployment) *wsBadSetup {
	n := d.start(t)
	admin := n.admin()
	s := &wsBadSetup{n: n}
	_, s.aliceTok = n.user(admin, "alice")
	_, s.bobTok = n.user(admin, "bob")
	s.room = n.room(s.aliceTok, "general", "public")["id"].(string)
	n.must(http.StatusOK, "POST", "/api/rooms/"+s.room+"/join", s.bobTok, nil)
	s.priv = n.room(admin, "staff", "private")["id"].(string)
	s.other = n.room(admin, "elsewhere", "public")["id"].(string)
	s.bob = n.ws(s.bobTok)
	s.head = wsSeq(s.bob.subscribe(s.room, nil))
	return s
}

// bystander checks that bob can still send and receive in the room.
func (s *wsBadSetup) bystander(t *testing.T) {
	t.Helper()
	s.bob.post(s.room, uuid.NewString(), "still here")
	s.head++
	s.bob.event(s.room, s.head, "message_posted")
}

// TestWSErrorFrames: every client mistake of PROTOCOL.md's socket tables
// that gets an error frame gets the specified code (echoing ref when it
// was readable), stores nothing, leaves the socket open, and does not
// disturb another user.
func TestWSErrorFrames(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		s := wsSetUpBad(t, d)
		alice := s.n.ws(s.aliceTok)
		alice.subscribe(s.room, nil)
		stored := wsStored(t, s.n)
		room, cid := s.room, uuid.NewString()
		long := strings.Repeat("é", 4001)
		cases := []struct{ name, frame, ref, code string }{
			{"malformed JSON", `{"type":"ping",`, "", "bad_request"},
			{"not an object", `["ping"]`, "", "bad_request"},
			{"no type", `{"ref":"r1"}`, "r1", "bad_request"},
			{"unknown type", `{"type":"shout","ref":"r2"}`, "r2", "bad_request"},
			{"type not a string", `{"type":7,"ref":"r3"}`, "r3", "bad_request"},
			{"ref over 64 chars", `{"type":"ping","ref":"` + strings.Repeat("x", 65) + `"}`, "", "bad_request"},
			{"subscribe without room", `{"type":"subscribe","ref":"r4"}`, "r4", "bad_request"},
			{"room not a UUID", `{"type":"subscribe","room":"lobby","ref":"r5"}`, "r5", "bad_request"},
			{"unknown room", `{"type":"subscribe","room":"` + uuid.NewString() + `","ref":"r6"}`, "r6", "not_found"},
			{"private room not a member of", `{"type":"subscribe","room":"` + s.priv + `","ref":"r7"}`, "r7", "forbidden"},
			{"public room not joined", `{"type":"subscribe","room":"` + s.other + `","ref":"r8"}`, "r8", "forbidden"},
			{"send to a private room", `{"type":"send","room":"` + s.priv + `","client_id":"` + uuid.NewString() + `","body":"hi","ref":"r9"}`, "r9", "forbidden"},
			{"send to an unjoined room", `{"type":"send","room":"` + s.other + `","client_id":"` + uuid.NewString() + `","body":"hi","ref":"r10"}`, "r10", "forbidden"},
			{"send to an unknown room", `{"type":"send","room":"` + uuid.NewString() + `","client_id":"` + uuid.NewString() + `","body":"hi","ref":"r11"}`, "r11", "not_found"},
			{"send without client_id", `{"type":"send","room":"` + room + `","body":"hi","ref":"r12"}`, "r12", "bad_request"},
			{"client_id not a UUID", `{"type":"send","room":"` + room + `","client_id":"abc","body":"hi","ref":"r13"}`, "r13", "bad_request"},
			{"blank body", `{"type":"send","room":"` + room + `","client_id":"` + cid + `","body":" \n ","ref":"r14"}`, "r14", "bad_request"},
			{"body over 4000 chars", `{"type":"send","room":"` + room + `","client_id":"` + cid + `","body":"` + long + `","ref":"r15"}`, "r15", "bad_request"},
			{"body not a string", `{"type":"send","room":"` + room + `","client_id":"` + cid + `","body":5,"ref":"r16"}`, "r16", "bad_request"},
			{"edit of an unknown message", `{"type":"edit","room":"` + room + `","id":"` + uuid.NewString() + `","body":"x","ref":"r17"}`, "r17", "not_found"},
			{"delete without id", `{"type":"delete","room":"` + room + `","ref":"r18"}`, "r18", "bad_request"},
			{"read without seq", `{"type":"read","room":"` + room + `","ref":"r19"}`, "r19", "bad_request"},
			{"negative after", `{"type":"subscribe","room":"` + room + `","after":-1,"ref":"r20"}`, "r20", "bad_request"},
			{"typing in a private room", `{"type":"typing","room":"` + s.priv + `","ref":"r21"}`, "r21", "forbidden"},
		}
		for i, c := range cases {
			if i == 15 { // the 1008 limit is 20 bad_request errors in 10 s
				alice = s.n.ws(s.aliceTok)
			}
			alice.send(c.frame)
			e := alice.expect("error")
			ref, hasRef := e["ref"]
			if e["code"] != c.code || e["message"] == "" || (c.ref == "" && hasRef) || (c.ref != "" && ref != c.ref) {
				t.Errorf("%s: %v, want code %s and ref %q", c.name, e, c.code, c.ref)
			}
			alice.sync() // the socket is still open
		}
		s.bystander(t)
		if got := wsStored(t, s.n); got != stored+1 {
			t.Errorf("the log grew by %d events, want 1 (the bystander's message)", got-stored)
		}
	})
}

// TestWSExactFrameLimit: a frame of exactly 64 KiB is read (and answered),
// one byte more closes with 1009.
func TestWSExactFrameLimit(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		s := wsSetUpBad(t, d)
		alice := s.n.ws(s.aliceTok)
		frame := func(size int) string {
			head := `{"type":"ping","ref":"big","pad":"`
			return head + strings.Repeat("a", size-len(head)-2) + `"}`
		}
		alice.send(frame(65536))
		if m := alice.expect("pong"); m["ref"] != "big" {
			t.Errorf("a 65536-byte frame: %v, want its pong", m)
		}
		alice.send(frame(65537))
		alice.expectClose(gws.StatusMessageTooBig)
		s.bystander(t)
	})
}

// TestWSCloseCodes: binary frames (1003), invalid UTF-8 (1007), more than
// 20 bad requests in 10 s (1008, after the 21st error frame) and frames
// over 64 KiB (1009) close only the abuser's socket, and store nothing.
func TestWSCloseCodes(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		s := wsSetUpBad(t, d)
		stored := wsStored(t, s.n)
		send := func(c *wsClient, op gws.OpCode, p []byte) {
			t.Helper()
			if err := gws.WriteFrame(c.nc, gws.MaskFrame(gws.NewFrame(op, true, p))); err != nil {
				t.Fatalf("write frame: %v", err)
			}
		}
		sendBody := `{"type":"send","room":"` + s.room + `","client_id":"` + uuid.NewString() + `","body":"`
		cases := []struct {
			name  string
			code  gws.StatusCode
			abuse func(c *wsClient)
		}{
			{"binary frame", gws.StatusUnsupportedData, func(c *wsClient) { send(c, gws.OpBinary, []byte(sendBody+`hi"}`)) }},
			{"invalid UTF-8", gws.StatusInvalidFramePayloadData, func(c *wsClient) { send(c, gws.OpText, []byte(sendBody+"\xff\xfe\"}")) }},
			{"oversized frame", gws.StatusMessageTooBig, func(c *wsClient) {
				send(c, gws.OpText, []byte(sendBody+strings.Repeat("a", 70_000)+`"}`))
			}},
			{"oversized fragments", gws.StatusMessageTooBig, func(c *wsClient) {
				part := []byte(strings.Repeat("a", 40_000))
				_ = gws.WriteFrame(c.nc, gws.MaskFrame(gws.NewFrame(gws.OpText, false, []byte(sendBody))))
				_ = gws.WriteFrame(c.nc, gws.MaskFrame(gws.NewFrame(gws.OpContinuation, false, part)))
				_ = gws.WriteFrame(c.nc, gws.MaskFrame(gws.NewFrame(gws.OpContinuation, true, part)))
			}},
			{"21 bad requests", gws.StatusPolicyViolation, func(c *wsClient) {
				for i := range 21 {
					c.send(`{"type":"nonsense","ref":"n` + string(rune('a'+i)) + `"}`)
				}
				for i := range 21 {
					if e := c.expect("error"); e["code"] != "bad_request" || e["ref"] != "n"+string(rune('a'+i)) {
						t.Errorf("bad request %d: %v", i+1, e)
					}
				}
			}},
		}
		for _, c := range cases {
			alice := s.n.ws(s.aliceTok)
			alice.subscribe(s.room, nil)
			c.abuse(alice)
			if got := alice.closeCode(); got != c.code {
				t.Errorf("%s: closed with %d, want %d", c.name, got, c.code)
			}
			s.bystander(t)
		}
		if got := wsStored(t, s.n); got != stored+len(cases) {
			t.Errorf("the log grew by %d events, want %d (the bystander's messages)", got-stored, len(cases))
		}
	})
}
