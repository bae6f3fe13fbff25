package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// On a 375 px phone no screen scrolls sideways, long unbroken text
// included, and the composer fits; the screens are saved for people to
// look at.
func browserPhoneLayout(t *testing.T, browser context.Context, d deployment) {
	s := newChatSetup(t, d)
	s.n.must(http.StatusOK, "POST", "/api/rooms/"+s.general+"/join", s.adminTok, nil)
	for i, body := range []string{
		"Morning! Is the deploy still on for today?",
		"Yes, after lunch. Logs are at https://example.invalid/" + strings.Repeat("very-long-path-segment/", 8),
		strings.Repeat("W", 300),
		"Great, thanks!",
	} {
		token := s.aliceTok
		if i%2 == 1 {
			token = s.bobTok
		}
		s.n.must(http.StatusCreated, "POST", "/api/rooms/"+s.general+"/messages", token,
			map[string]string{"client_id": fmt.Sprintf("0190b000-0000-7000-8000-%012d", i+1), "body": body})
	}
	s.n.register("dave", "dave-password")
	s.n.register("erin-with-a-rather-long-name", "erin-password")

	admin := newTab(t, browser, s.n.URL, "admin", phone)
	admin.open("/")
	admin.waitFor("the log-in screen shows", `!document.getElementById('auth-view').hidden`)
	admin.noHorizontalScroll("the log-in screen")
	admin.screenshot("phone-login")

	admin.login("admin", "admin-password")
	admin.open("/rooms/" + s.general)
	admin.waitFor("the messages show", messageWithBody(strings.Repeat("W", 300)))
	admin.noHorizontalScroll("the chat screen")
	admin.fitsWidth("#composer-form", "#send-button", "#message-scroll", "#sidebar-toggle")
	admin.screenshot("phone-chat")

	admin.do(chromedp.Click(chromedp.ID("sidebar-toggle")))
	admin.waitFor("the drawer has slid fully in",
		`document.body.classList.contains('drawer-open') && document.getElementById('sidebar').getBoundingClientRect().left === 0`)
	admin.noHorizontalScroll("the open drawer")
	admin.screenshot("phone-sidebar")
	admin.do(chromedp.Click(chromedp.ID("admin-link")))
	admin.waitFor("the admin page shows waiting accounts",
		`!document.getElementById('admin-page').hidden && document.querySelectorAll('#admin-pending tr[data-user-id]').length === 2`)
	admin.noHorizontalScroll("the admin page")
	admin.fitsWidth("#admin-pending button.approve")
	admin.screenshot("phone-admin")
}

// fitsWidth fails the test when an element sticks out of the viewport
// sideways (or is missing).
func (tb *tab) fitsWidth(selectors ...string) {
	tb.t.Helper()
	for _, sel := range selectors {
		ok := eval[bool](tb, fmt.Sprintf(`(() => { const e = document.querySelector(%s);
			if (!e) return false; const r = e.getBoundingClientRect();
			return r.width > 0 && r.left >= 0 && r.right <= document.documentElement.clientWidth; })()`, jsString(sel)))
		if !ok {
			tb.t.Errorf("%s: %s is missing or does not fit the width of the screen", tb.name, sel)
		}
	}
}
