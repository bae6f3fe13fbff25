package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// apiCheckMessage fails unless m is a Message of PROTOCOL.md by author
// with body.
func apiCheckMessage(t *testing.T, m map[string]any, room, author, body string) {
	t.Helper()
	a, _ := m["author"].(map[string]any)
	if len(m) != 9 || !wireID.MatchString(m["id"].(string)) || !wireTime.MatchString(m["sent_at"].(string)) ||
		m["edited_at"] != nil || m["deleted"] != false || m["room"] != room || len(a) != 2 || a["username"] != author || m["body"] != body {
		t.Errorf("message %v: want PROTOCOL.md's fields, by %s in %s, body %q", m, author, room, body)
	}
	if _, err := uuid.Parse(m["client_id"].(string)); err != nil {
		t.Errorf("message client_id %v: %v", m["client_id"], err)
	}
}

func (n *node) post(token, room, body string) map[string]any {
	n.t.Helper()
	r := n.must(http.StatusCreated, "POST", "/api/rooms/"+room+"/messages", token,
		map[string]string{"client_id": uuid.NewString(), "body": body})
	return apiObject(n.t, r, "message")
}

// TestAPIPostMessages: posting answers the Message, trims it, keeps one
// message per client_id, and refuses bad bodies and non-members.
func TestAPIPostMessages(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		_, bob := n.user(admin, "bob")
		room := n.room(admin, "talk", "public")["id"].(string)
		private := n.room(admin, "quiet", "private")["id"].(string)
		clientID := uuid.NewString()
		send := map[string]string{"client_id": clientID, "body": "  hello there \n"}
		first := apiObject(t, n.must(http.StatusCreated, "POST", "/api/rooms/"+room+"/messages", admin, send), "message")
		apiCheckMessage(t, first, room, "admin", "hello there")
		second := apiObject(t, n.must(http.StatusCreated, "POST", "/api/rooms/"+room+"/messages", admin, send), "message")
		if first["id"] != second["id"] || first["seq"] != second["seq"] || first["seq"] != float64(3) {
			t.Errorf("same client_id twice: %v then %v, want one message at seq 3", first, second)
		}
		// The same client_id from another author is another message.
		n.must(http.StatusOK, "POST", "/api/rooms/"+room+"/join", bob, nil)
		if m := apiObject(t, n.must(http.StatusCreated, "POST", "/api/rooms/"+room+"/messages", bob, send), "message"); m["id"] == first["id"] {
			t.Errorf("bob's message with admin's client_id is admin's message")
		}
		longest := n.post(admin, room, strings.Repeat("ü", 4000))
		apiCheckMessage(t, longest, room, "admin", strings.Repeat("ü", 4000))

		path := "/api/rooms/" + room + "/messages"
		cid := `"client_id":"` + uuid.NewString() + `"`
		apiRefusesAll(t, n, []badCase{
			{"empty body", "POST", path, admin, `{` + cid + `,"body":""}`, 400, "bad_request", "body"},
			{"blank body", "POST", path, admin, `{` + cid + `,"body":" \t\n "}`, 400, "bad_request", "body"},
			{"body of 4001", "POST", path, admin, `{` + cid + `,"body":"` + strings.Repeat("a", 4001) + `"}`, 400, "bad_request", "body"},
			{"no body", "POST", path, admin, `{` + cid + `}`, 400, "bad_request", "body"},
			{"body a number", "POST", path, admin, `{` + cid + `,"body":5}`, 400, "bad_request", "body"},
			{"no client_id", "POST", path, admin, `{"body":"hi"}`, 400, "bad_request", "client_id"},
			{"client_id not a UUID", "POST", path, admin, `{"client_id":"abc","body":"hi"}`, 400, "bad_request", "client_id"},
			{"client_id a number", "POST", path, admin, `{"client_id":1,"body":"hi"}`, 400, "bad_request", "client_id"},
			{"unknown field", "POST", path, admin, `{` + cid + `,"body":"hi","room":"x"}`, 400, "bad_request", "room"},
			{"malformed", "POST", path, admin, `{` + cid + `,"body":"hi"`, 400, "bad_request", "body"},
			{"unknown room", "POST", "/api/rooms/" + uuid.NewString() + "/messages", admin, `{` + cid + `,"body":"hi"}`, 404, "not_found", ""},
			{"private room of others", "POST", "/api/rooms/" + private + "/messages", bob, `{` + cid + `,"body":"hi"}`, 403, "forbidden", ""},
		})
		n.must(http.StatusOK, "POST", "/api/rooms/"+room+"/leave", bob, nil)
		apiWantError(t, "post to a public room not joined", n.call("POST", path, bob, map[string]string{"client_id": uuid.NewString(), "body": "hi"}), 403, "forbidden", "")
	})
}

// apiPage reads a page of history and returns the seqs and has_more.
func apiPage(t *testing.T, n *node, token, room, query string) ([]int, bool) {
	t.Helper()
	r := n.must(http.StatusOK, "GET", "/api/rooms/"+room+"/messages"+query, token, nil)
	var seqs []int
	for _, m := range apiList(t, r, "messages") {
		seqs = append(seqs, int(m["seq"].(float64)))
	}
	more, ok := r.Body["has_more"].(bool)
	if !ok {
		t.Fatalf("page %s: no has_more: %s", query, r.Raw)
	}
	return seqs, more
}

// TestAPIHistory pages a room's history backward and forward, with the
// limits of PROTOCOL.md, and counts unread messages.
func TestAPIHistory(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		_, bob := n.user(admin, "bob")
		room := n.room(admin, "paging", "public")["id"].(string)
		n.must(http.StatusOK, "POST", "/api/rooms/"+room+"/join", bob, nil) // seq 3
		for i := range 7 {                                                  // seqs 4..10
			n.post(bob, room, fmt.Sprintf("message %d", i))
		}
		apiEventually(t, "history shows the last message", func() bool {
			seqs, _ := apiPage(t, n, admin, room, "?limit=1")
			return len(seqs) == 1 && seqs[0] == 10
		})
		for _, c := range []struct {
			query string
			seqs  string
			more  bool
		}{
			{"", "[4 5 6 7 8 9 10]", false},
			{"?limit=3", "[8 9 10]", true},
			{"?before=8&limit=3", "[5 6 7]", true},
			{"?before=5&limit=3", "[4]", false},
			{"?before=1", "[]", false},
			{"?after=0&limit=3", "[4 5 6]", true},
			{"?after=6&limit=3", "[7 8 9]", true},
			{"?after=9&limit=3", "[10]", false},
			{"?after=10", "[]", false},
			{"?limit=200", "[4 5 6 7 8 9 10]", false},
		} {
			seqs, more := apiPage(t, n, admin, room, c.query)
			if got := fmt.Sprint(seqs); (got != c.seqs && !(c.seqs == "[]" && seqs == nil)) || more != c.more {
				t.Errorf("page %q: %v has_more %v, want %s has_more %v", c.query, seqs, more, c.seqs, c.more)
			}
		}
		path := "/api/rooms/" + room + "/messages"
		var cases []badCase
		for _, q := range []string{"?limit=0", "?limit=201", "?limit=-1", "?limit=ten", "?before=0", "?before=x", "?after=-1", "?before=5&after=2"} {
			field := strings.TrimLeft(strings.SplitN(q, "=", 2)[0], "?")
			cases = append(cases, badCase{"page " + q, "GET", path + q, admin, nil, 400, "bad_request", field})
		}
		_, carol := n.user(admin, "carol")
		cases = append(cases, badCase{"history of a room not joined", "GET", path, carol, nil, 403, "forbidden", ""},
			badCase{"history of an unknown room", "GET", "/api/rooms/" + uuid.NewString() + "/messages", carol, nil, 404, "not_found", ""})
		apiRefusesAll(t, n, cases)

		apiEventually(t, "admin's unread count", func() bool {
			r := apiObject(t, n.must(http.StatusOK, "GET", "/api/rooms/"+room, admin, nil), "room")
			return r["head"] == float64(10) && r["unread"] == float64(7) && r["last_read"] == float64(0)
		})
		r := apiObject(t, n.must(http.StatusOK, "GET", "/api/rooms/"+room, bob, nil), "room")
		if r["unread"] != float64(0) {
			t.Errorf("bob's unread %v, want 0: his own messages do not count", r["unread"])
		}
	})
}

// TestAPISearch: search finds messages in the caller's rooms only, best
// first, filtered by room, with its parameters checked.
func TestAPISearch(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		admin := n.admin()
		_, bob := n.user(admin, "bob")
		open := n.room(admin, "open", "public")["id"].(string)
		mine := n.room(admin, "mine", "private")["id"].(string)
		n.post(admin, open, "the quick brown fox")
		n.post(admin, mine, "a fox in private")
		n.post(admin, open, "nothing to see")
		apiEventually(t, "search finds both foxes", func() bool {
			return len(apiList(t, n.must(http.StatusOK, "GET", "/api/search?q=fox", admin, nil), "results")) == 2
		})
		only := apiList(t, n.must(http.StatusOK, "GET", "/api/search?q=fox&room="+open, admin, nil), "results")
		if len(only) != 1 {
			t.Fatalf("search in one room: %v, want the one fox there", only)
		}
		apiCheckMessage(t, only[0], open, "admin", "the quick brown fox")
		if got := apiList(t, n.must(http.StatusOK, "GET", "/api/search?q=fox&limit=1", admin, nil), "results"); len(got) != 1 {
			t.Errorf("limit=1: %d results", len(got))
		}
		if got := apiList(t, n.must(http.StatusOK, "GET", "/api/search?q=fox", bob, nil), "results"); len(got) != 0 {
			t.Errorf("bob, in no room, finds %v", got)
		}
		n.must(http.StatusOK, "POST", "/api/rooms/"+open+"/join", bob, nil)
		if got := apiList(t, n.must(http.StatusOK, "GET", "/api/search?q=fox", bob, nil), "results"); len(got) != 1 || got[0]["room"] != open {
			t.Errorf("bob, in the open room, finds %v, want its fox only", got)
		}
		lobby := n.room(admin, "lobby", "public")["id"].(string)
		apiRefusesAll(t, n, []badCase{
			{"public room not joined", "GET", "/api/search?q=fox&room=" + lobby, bob, nil, 403, "forbidden", ""},
			{"no q", "GET", "/api/search", bob, nil, 400, "bad_request", "q"},
			{"blank q", "GET", "/api/search?q=%20%20", bob, nil, 400, "bad_request", "q"},
			{"q too long", "GET", "/api/search?q=" + strings.Repeat("a", 257), bob, nil, 400, "bad_request", "q"},
			{"limit 0", "GET", "/api/search?q=fox&limit=0", bob, nil, 400, "bad_request", "limit"},
			{"limit 201", "GET", "/api/search?q=fox&limit=201", bob, nil, 400, "bad_request", "limit"},
			{"room of others", "GET", "/api/search?q=fox&room=" + mine, bob, nil, 403, "forbidden", ""},
			{"unknown room", "GET", "/api/search?q=fox&room=" + uuid.NewString(), bob, nil, 404, "not_found", ""},
		})
	})
}
