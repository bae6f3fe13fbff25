package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// seedMessages posts count messages to room ("message 001" …), the one
// numbered needle with the word "zebra" in it, and returns that one's seq.
func seedMessages(t *testing.T, n *node, token, room string, count, needle int) int {
	t.Helper()
	seq := 0
	for i := 1; i <= count; i++ {
		body := fmt.Sprintf("message %03d", i)
		if i == needle {
			body += " about a zebra"
		}
		r := n.must(http.StatusCreated, "POST", "/api/rooms/"+room+"/messages", token,
			map[string]string{"client_id": fmt.Sprintf("0190a000-0000-7000-8000-%012d", i), "body": body})
		if i == needle {
			seq = int(r.Body["message"].(map[string]any)["seq"].(float64))
		}
	}
	return seq
}

const messageCount = `document.querySelectorAll('#message-list .message[data-seq]').length`

// A search hit far back in history opens the room at that message; back at
// the latest, scrolling up pages older messages in until the first.
func browserSearchAndPaging(t *testing.T, browser context.Context, d deployment) {
	s := newChatSetup(t, d)
	const total, needle = 130, 10
	needleSeq := seedMessages(t, s.n, s.aliceTok, s.general, total, needle)

	bob := newTab(t, browser, s.n.URL, "bob", desktop)
	bob.login("bob", "bob-password")
	bob.openRoom(s.general)
	bob.waitFor("the newest message shows", messageWithBody(fmt.Sprintf("message %03d", total)))
	if n := eval[int](bob, messageCount); n >= total {
		t.Fatalf("the room opened with all %d messages; want a first page", n)
	}

	bob.do(chromedp.SendKeys(chromedp.ID("search-input"), "zebra"))
	hit := fmt.Sprintf(`#search-results button[data-seq="%d"]`, needleSeq)
	bob.waitFor("the search finds the old message", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(hit)))
	bob.do(chromedp.Click(chromedp.CSS(hit)))
	target := fmt.Sprintf(`document.querySelector('#message-list .message[data-seq="%d"]')`, needleSeq)
	bob.waitFor("the hit is shown, highlighted and on screen", fmt.Sprintf(`(() => {
		const m = %s, pane = document.getElementById('message-scroll');
		if (!m || !m.classList.contains('highlight')) return false;
		const r = m.getBoundingClientRect(), p = pane.getBoundingClientRect();
		return r.top >= p.top && r.bottom <= p.bottom; })()`, target))
	bob.screenshot("desktop-search")

	bob.waitFor("the jump-to-latest button shows", `!document.getElementById('jump-latest').hidden`)
	bob.do(chromedp.Click(chromedp.ID("jump-latest")))
	bob.waitFor("back at the newest message", messageWithBody(fmt.Sprintf("message %03d", total)))
	bob.waitFor("only the newest page again", fmt.Sprintf(`%s < %d && !%s`, messageCount, total, target))

	// Each scroll to the top asks for an older page; a bounded number of
	// scrolls must reach the very first message.
	for range 10 {
		if eval[bool](bob, messageWithBody("message 001")) {
			break
		}
		before := eval[int](bob, messageCount)
		bob.exec(`document.getElementById('message-scroll').scrollTop = 0`)
		bob.waitFor("an older page loads", fmt.Sprintf(`%s > %d || %s`, messageCount, before, messageWithBody("message 001")))
	}
	bob.waitFor("paging reached the first message", messageWithBody("message 001"))
	if n := eval[int](bob, messageCount); n != total {
		t.Errorf("%d messages shown after paging to the top, want %d", n, total)
	}
	bob.noDuplicateSeqs()
}
