package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium (headless) through chromedp
// against a real chatd. Each test gets one browser process; every user in it
// gets a browser context of their own (a separate cookie jar, like a second
// browser profile), so two people can be logged in side by side.

const chromiumPath = "/usr/bin/chromium"

// Viewports of the screenshots and layout checks.
var (
	desktop = viewport{name: "desktop", width: 1280, height: 800}
	phone   = viewport{name: "phone", width: 375, height: 740, mobile: true}
)

type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

// browserWait bounds every wait for the page: generous for a loaded CI
// machine, short enough that a broken page fails the test quickly.
const browserWait = 15 * time.Second

// newBrowser starts a headless chromium for the test, or skips the test
// when none is installed (failing under CI, which must have it).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	bin := chromiumPath
	if _, err := os.Stat(bin); err != nil {
		found, lookErr := exec.LookPath("chromium")
		if lookErr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("chromium not found at %s: the browser tests need it under CI", chromiumPath)
			}
			t.Skip("chromium not installed: apt-get install chromium")
		}
		bin = found
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // tests run as root, where chromium refuses its sandbox
		chromedp.DisableGPU,
		chromedp.Flag("hide-scrollbars", false),
		chromedp.Flag("lang", "en-US"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// The first Do starts the browser process (with no timeout: the
	// browser lives as long as the context of that call).
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx
}

// tab is one user's page in its own browser context.
type tab struct {
	t    *testing.T
	ctx  context.Context
	name string
	base string // the server's URL

	mu      sync.Mutex
	dialogs []string // alert/confirm/prompt texts the page opened
	errors  []string // uncaught exceptions
}

// newTab opens a fresh browser context (own cookies and storage) sized to vp.
func newTab(t *testing.T, browser context.Context, base, name string, vp viewport) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	tb := &tab{t: t, ctx: ctx, name: name, base: base}
	if err := chromedp.Listen(ctx, tb.onEvent); err != nil {
		cancel()
		t.Fatalf("%s: open a tab: %v", name, err)
	}
	t.Cleanup(func() {
		cancel()
		tb.mu.Lock()
		defer tb.mu.Unlock()
		if len(tb.errors) > 0 {
			t.Errorf("%s: uncaught exceptions in the page:\n%s", name, strings.Join(tb.errors, "\n"))
		}
	})
	var opts []chromedp.EmulateViewportOption
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	tb.do(chromedp.EmulateViewport(vp.width, vp.height, opts...))
	return tb
}

func (tb *tab) onEvent(ev any) {
	switch ev := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		tb.mu.Lock()
		tb.dialogs = append(tb.dialogs, ev.Message)
		tb.mu.Unlock()
		// Close it, or the page hangs; from a goroutine, as listeners
		// must not block on the browser.
		go func() {
			_, _ = chromedp.Call(tb.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{})
		}()
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg = d.Exception.Description
		}
		tb.mu.Lock()
		tb.errors = append(tb.errors, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber, msg))
		tb.mu.Unlock()
	}
}

// dialogCount is how many JavaScript dialogs the page has opened.
func (tb *tab) dialogCount() int {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return len(tb.dialogs)
}

// do performs actions, failing the test on error.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 2*browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", tb.name, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("%s: evaluate %s: %v", tb.name, expr, err)
	}
	return v
}

// waitFor polls a JavaScript expression until it is truthy; what says what
// was awaited when it never becomes so.
func (tb *tab) waitFor(what, expr string) {
	tb.t.Helper()
	start := time.Now()
	defer func() {
		// Slow waits are what make the suite slow: say which.
		if d := time.Since(start); d > 2*time.Second {
			tb.t.Logf("%s: %.1f s until %s", tb.name, d.Seconds(), what)
		}
	}()
	ctx, cancel := context.WithTimeout(tb.ctx, browserWait)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browserWait)))
	if err != nil {
		state, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ""`))
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, chromedp.ErrPollingTimeout) {
			tb.t.Fatalf("%s: timed out waiting until %s\n(%s)\npage text:\n%s", tb.name, what, expr, state)
		}
		tb.t.Fatalf("%s: waiting until %s: %v", tb.name, what, err)
	}
}

// open loads the client at path.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base + path))
	tb.waitFor("the client booted", `document.getElementById('loading').hidden`)
}

// login fills in the log-in form and waits for the app.
func (tb *tab) login(username, password string) {
	tb.t.Helper()
	if !eval[bool](tb, `location.href.startsWith(`+jsString(tb.base+"/")+`) && !!document.getElementById('auth-view')`) {
		tb.open("/")
	}
	tb.waitFor("the log-in form shows", `!document.getElementById('auth-view').hidden`)
	tb.exec(`document.getElementById('login-username').value = ''; document.getElementById('login-password').value = ''`)
	tb.do(
		chromedp.SendKeys(chromedp.ID("login-username"), username),
		chromedp.SendKeys(chromedp.ID("login-password"), password),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	tb.waitFor("the app shows after log-in", `!document.getElementById('app-view').hidden`)
}

// openRoom clicks a room in the sidebar and waits for its messages.
func (tb *tab) openRoom(roomID string) {
	tb.t.Helper()
	sel := fmt.Sprintf(`#room-list a[data-room-id=%q]`, roomID)
	tb.waitFor("the room is listed", fmt.Sprintf(`!!document.querySelector(%q)`, sel))
	tb.do(chromedp.Click(chromedp.CSS(sel)))
	tb.waitFor("the room shows", `!document.getElementById('room-view').hidden && !document.getElementById('composer-form').hidden`)
}

// send types text into the composer and presses Enter.
func (tb *tab) send(text string) {
	tb.t.Helper()
	tb.do(chromedp.SendKeys(chromedp.ID("composer"), text+"\r"))
}

// screenshot saves the viewport as testout/screenshots/<name>.png at the
// repository root, for people to look at after a run.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("%s: screenshot %s: %v", tb.name, name, err)
	}
	dir := filepath.Join(repoRoot(tb.t), "testout", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// noHorizontalScroll fails the test when the page is wider than the
// viewport, the phone layout's first requirement.
func (tb *tab) noHorizontalScroll(where string) {
	tb.t.Helper()
	dims := eval[[]int](tb, `[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]`)
	if len(dims) != 2 || dims[0] > dims[1] {
		tb.t.Errorf("%s: %s scrolls sideways: scrollWidth, clientWidth = %v", tb.name, where, dims)
	}
}

// repoRoot is the folder holding go.mod, found upward from the test's.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// typeOnly types into the composer without sending.
func (tb *tab) typeOnly(text string) {
	tb.t.Helper()
	tb.do(chromedp.SendKeys(chromedp.ID("composer"), text))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// messagesWithBody is a JavaScript expression: the message elements
// (pending ones included) whose body is exactly body.
func messagesWithBody(body string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#message-list .message')]`+
		`.filter(m => m.querySelector('.message-body')?.textContent === %s)`, jsString(body))
}

// messageWithBody is true once a confirmed message with body shows.
func messageWithBody(body string) string {
	return messagesWithBody(body) + `.some(m => m.dataset.seq && !m.matches('.pending, .failed'))`
}

// expectOnce fails the test unless exactly one message shows body.
func (tb *tab) expectOnce(body string) {
	tb.t.Helper()
	if n := eval[int](tb, messagesWithBody(body)+`.length`); n != 1 {
		tb.t.Errorf("%s: %d messages read %q, want exactly 1", tb.name, n, body)
	}
}

// clickText clicks the message body whose text is body, as a person would.
func clickText(body string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.JSPath(fmt.Sprintf(
		`[...document.querySelectorAll('#message-list .message-body')].find(e => e.textContent === %s)`, jsString(body))))
}

// waitUntil polls cond on the Go side until it holds or browserWait passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(browserWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// noDuplicateSeqs fails the test when two message elements share a seq.
func (tb *tab) noDuplicateSeqs() {
	tb.t.Helper()
	seqs := eval[[]string](tb, `[...document.querySelectorAll('#message-list [data-seq]')].map(m => m.dataset.seq)`)
	seen := map[string]bool{}
	for _, s := range seqs {
		if seen[s] {
			tb.t.Errorf("%s: seq %s shows twice among %v", tb.name, s, seqs)
		}
		seen[s] = true
	}
}

// exec runs JavaScript for its effect.
func (tb *tab) exec(expr string) {
	tb.t.Helper()
	eval[any](tb, expr)
}

// darkScreenshot saves the page as the dark theme (the system setting the
// client follows) shows it, then goes back to the light one.
func (tb *tab) darkScreenshot(name string) {
	tb.t.Helper()
	scheme := func(v string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}},
			})
			return err
		})
	}
	tb.do(scheme("dark"))
	tb.screenshot(name)
	tb.do(scheme(""))
}
