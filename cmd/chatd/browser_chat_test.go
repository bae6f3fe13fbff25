package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
)

// chatSetup is a node with an admin, two approved users (alice, bob) and two
// public rooms they are both in.
type chatSetup struct {
	n                  *node
	adminTok           string
	aliceID, bobID     string
	aliceTok, bobTok   string
	general, random    string // room ids
	generalName, other string
}

func newChatSetup(t *testing.T, d deployment) chatSetup {
	t.Helper()
	n := d.start(t)
	s := chatSetup{n: n, adminTok: n.admin(), generalName: "general", other: "random"}
	s.aliceID, s.aliceTok = n.user(s.adminTok, "alice")
	s.bobID, s.bobTok = n.user(s.adminTok, "bob")
	s.general = s.createRoom(s.aliceTok, s.generalName)
	s.random = s.createRoom(s.aliceTok, s.other)
	for _, room := range []string{s.general, s.random} {
		n.must(http.StatusOK, "POST", "/api/rooms/"+room+"/join", s.bobTok, nil)
	}
	return s
}

func (s chatSetup) createRoom(token, name string) string {
	r := s.n.must(http.StatusCreated, "POST", "/api/rooms", token, map[string]string{"name": name, "kind": "public"})
	return r.Body["room"].(map[string]any)["id"].(string)
}

// Two people in two browsers: each sees the other come online, sees the
// other typing, and gets the other's messages once; a message in a room
// not on screen shows as an unread badge and in the tab title until read.
func browserTwoUsersChat(t *testing.T, browser context.Context, d deployment) {
	{
		s := newChatSetup(t, d)
		alice := newTab(t, browser, s.n.URL, "alice", desktop)
		bob := newTab(t, browser, s.n.URL, "bob", desktop)

		alice.login("alice", "alice-password")
		alice.openRoom(s.general)
		bob.login("bob", "bob-password")
		bob.openRoom(s.general)

		alice.waitFor("alice sees bob online",
			fmt.Sprintf(`!!document.querySelector('#people-list [data-user-id=%q] .presence-dot.online')`, s.bobID))
		bob.waitFor("bob sees alice online",
			fmt.Sprintf(`!!document.querySelector('#people-list [data-user-id=%q] .presence-dot.online')`, s.aliceID))

		// Typing is ephemeral: bob must be subscribed before alice types.
		// The room's system lines come only with the socket's replay, so
		// once they show, the subscription is live.
		for _, tb := range []*tab{alice, bob} {
			tb.waitFor("the room's subscription is live", `!!document.querySelector('#message-list .system-line')`)
		}
		alice.typeOnly("Hello Bo")
		bob.waitFor("bob sees alice typing",
			`document.getElementById('typing-indicator').textContent === 'alice is typing…'`)
		alice.send("b, how are you?")
		bob.waitFor("bob gets alice's message", messageWithBody("Hello Bob, how are you?"))
		bob.waitFor("the typing line clears when the message arrives",
			`document.getElementById('typing-indicator').textContent === ''`)

		bob.send("Fine, thanks!")
		alice.waitFor("alice gets bob's reply", messageWithBody("Fine, thanks!"))
		alice.waitFor("alice's own message is confirmed",
			`[...document.querySelectorAll('#message-list .message.own')].some(m => !m.matches('.pending, .failed'))`)
		for _, tb := range []*tab{alice, bob} {
			tb.expectOnce("Hello Bob, how are you?")
			tb.expectOnce("Fine, thanks!")
		}

		// A message in a room bob is not looking at.
		alice.openRoom(s.random)
		alice.send("Over here, Bob")
		badge := fmt.Sprintf(`document.querySelector('#room-list a[data-room-id=%q] .unread-badge')`, s.random)
		bob.waitFor("bob's sidebar shows one unread in random", badge+`?.textContent === '1'`)
		bob.waitFor("the tab title counts it", `document.title === '(1) Chat'`)
		bob.screenshot("desktop-chat")
		bob.darkScreenshot("desktop-chat-dark")

		bob.openRoom(s.random)
		bob.waitFor("bob sees the message", messageWithBody("Over here, Bob"))
		bob.waitFor("the badge goes once bob has read it", `!`+badge)
		bob.waitFor("the title loses the count", `document.title === 'Chat'`)
		// The read marker reached the server: a fresh list agrees.
		waitUntil(t, "the server counts no unread for bob", func() bool {
			r := s.n.must(http.StatusOK, "GET", "/api/rooms/"+s.random, s.bobTok, nil)
			return r.Body["room"].(map[string]any)["unread"].(float64) == 0
		})
	}
}

// Message bodies are text: markup and javascript: links arrive in the
// other browser as the characters typed, with no element made from them
// and no script run.
func browserMessagesAreInert(t *testing.T, browser context.Context, d deployment) {
	{
		s := newChatSetup(t, d)
		bob := newTab(t, browser, s.n.URL, "bob", desktop)
		bob.login("bob", "bob-password")
		bob.openRoom(s.general)
		before := eval[int](bob, `document.querySelectorAll('img, a[href^="javascript"], script').length`)

		payloads := []string{
			`<img src=x onerror=alert(1)>`,
			`<a href="javascript:alert(2)">click me</a>`,
			`javascript:alert(3)`,
			`[link](javascript:alert(4)) <script>alert(5)</script>`,
		}
		for i, p := range payloads {
			s.n.must(http.StatusCreated, "POST", "/api/rooms/"+s.general+"/messages", s.aliceTok,
				map[string]string{"client_id": fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1), "body": p})
		}
		// Typed in a browser too, so the sender's own echo is covered.
		bob.send(`<img src=y onerror=alert(6)>`)
		for _, p := range append(payloads, `<img src=y onerror=alert(6)>`) {
			bob.waitFor("the payload shows as text: "+p, messageWithBody(p))
		}
		// Clicking the text must not navigate or run anything either.
		bob.do(clickText(`javascript:alert(3)`))

		after := eval[int](bob, `document.querySelectorAll('img, a[href^="javascript"], script').length`)
		if after != before {
			t.Errorf("the page has %d img/script/javascript-link elements, had %d before the payloads", after, before)
		}
		inList := eval[int](bob, `document.querySelectorAll('#message-list .message-body *').length`)
		if inList != 0 {
			t.Errorf("message bodies hold %d elements, want only text", inList)
		}
		if n := bob.dialogCount(); n != 0 {
			t.Errorf("the page opened %d dialogs", n)
		}
		if u := eval[string](bob, `location.pathname`); u != "/rooms/"+s.general {
			t.Errorf("the page moved to %s", u)
		}
	}
}
