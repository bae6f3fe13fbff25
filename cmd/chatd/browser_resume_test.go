package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// The server restarts under two open pages: both show the reconnecting
// banner, come back on their own, get what was said meanwhile, and show
// every message exactly once.
func browserSurvivesRestart(t *testing.T, browser context.Context, d deployment) {
	s := newChatSetup(t, d)
	alice := newTab(t, browser, s.n.URL, "alice", desktop)
	bob := newTab(t, browser, s.n.URL, "bob", desktop)
	alice.login("alice", "alice-password")
	alice.openRoom(s.general)
	bob.login("bob", "bob-password")
	bob.openRoom(s.general)

	alice.send("said before the restart")
	bob.waitFor("bob gets the first message", messageWithBody("said before the restart"))

	u, err := url.Parse(s.n.URL)
	if err != nil {
		t.Fatal(err)
	}
	s.n.stop()
	for _, tb := range []*tab{alice, bob} {
		tb.waitFor("the reconnecting banner shows", `!document.getElementById('reconnect-banner').hidden`)
	}
	// The same deployment (data folder, or database and Redis prefix) on
	// the same address, so the pages' own retries find it.
	n2 := d.start(t, func(c *Config) { c.Addr = u.Host })
	n2.must(http.StatusCreated, "POST", "/api/rooms/"+s.general+"/messages", s.aliceTok,
		map[string]string{"client_id": "0190a000-0000-7000-8000-000000000001", "body": "said while the pages were away"})

	for _, tb := range []*tab{alice, bob} {
		tb.waitFor("the banner goes once reconnected", `document.getElementById('reconnect-banner').hidden`)
		tb.waitFor("the missed message arrives", messageWithBody("said while the pages were away"))
	}
	bob.send("said after the restart")
	alice.waitFor("alice gets bob's message over the new connection", messageWithBody("said after the restart"))
	for _, tb := range []*tab{alice, bob} {
		for _, body := range []string{"said before the restart", "said while the pages were away", "said after the restart"} {
			tb.expectOnce(body)
		}
		tb.noDuplicateSeqs()
	}
}
