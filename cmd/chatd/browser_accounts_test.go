package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// A newcomer signs up in the browser and is told to wait for approval; an
// administrator approves them on the admin page, and they log in.
func browserSignupApproval(t *testing.T, browser context.Context, d deployment) {
	n := d.start(t)
	n.admin()
	carol := newTab(t, browser, n.URL, "carol", desktop)
	admin := newTab(t, browser, n.URL, "admin", desktop)

	carol.open("/")
	carol.waitFor("the log-in screen shows", `!document.getElementById('auth-view').hidden`)
	carol.screenshot("desktop-login")
	carol.do(
		chromedp.SendKeys(chromedp.ID("register-username"), "carol"),
		chromedp.SendKeys(chromedp.ID("register-password"), "carol-password"),
		chromedp.Click(chromedp.ID("register-submit")),
	)
	carol.waitFor("the pending notice shows", authMessage("notice", "An administrator must approve it"))
	carol.do(
		chromedp.SendKeys(chromedp.ID("login-password"), "carol-password"),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	carol.waitFor("log-in says the account waits", authMessage("error", "waiting for an administrator"))

	admin.login("admin", "admin-password")
	admin.waitFor("the admin link shows", `!document.getElementById('admin-link').hidden`)
	admin.do(chromedp.Click(chromedp.ID("admin-link")))
	row := func(tbody, status string) string {
		return fmt.Sprintf(`document.querySelector('#%s tr[data-username="carol"][data-status=%q]')`, tbody, status)
	}
	admin.waitFor("carol waits for approval", "!!"+row("admin-pending", "pending"))
	admin.screenshot("desktop-admin")
	admin.do(chromedp.Click(chromedp.CSS(`#admin-pending tr[data-username="carol"] button.approve`)))
	admin.waitFor("carol is approved", "!!"+row("admin-approved", "approved"))

	carol.login("carol", "carol-password")
	carol.waitFor("carol is signed in", `document.getElementById('me-name').textContent === 'carol'`)
}

// authMessage is true when the auth screen's message has this kind and
// contains text.
func authMessage(kind, text string) string {
	return fmt.Sprintf(`(() => { const m = document.getElementById('auth-message');
		return !m.hidden && m.dataset.kind === %s && m.textContent.includes(%s); })()`, jsString(kind), jsString(text))
}
