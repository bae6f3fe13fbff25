package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// MustGet requests path from the client's handler.
func MustGet(tb testing.TB, method, target string, header http.Header) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec
}

func TestServesIndexAndSPAPaths(t *testing.T) {
	for _, target := range []string{"/", "/index.html", "/rooms/0190c8a4-7d1e-7cc0-8000-000000000001", "/admin", "/admin/"} {
		t.Run(target, func(t *testing.T) {
			rec := MustGet(t, http.MethodGet, target, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", got)
			}
			if !strings.Contains(rec.Body.String(), `<script type="module" src="/js/main.js">`) {
				t.Error("body is not index.html")
			}
		})
	}
}

func TestContentTypes(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/js/main.js", "text/javascript; charset=utf-8"},
		{"/js/views/messages.js", "text/javascript; charset=utf-8"},
		{"/app.css", "text/css; charset=utf-8"},
		{"/favicon.svg", "image/svg+xml"},
	}
	for _, tt := range tests {
		rec := MustGet(t, http.MethodGet, tt.path, nil)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status = %d", tt.path, rec.Code)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != tt.want {
			t.Errorf("%s: Content-Type = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestNotFound(t *testing.T) {
	tests := []struct {
		path     string
		wantType string
	}{
		// A missing asset is a 404, not index.html under a script's name.
		{"/js/missing.js", "text/plain; charset=utf-8"},
		{"/favicon.ico", "text/plain; charset=utf-8"},
		// The API's and the socket's paths are never the client's.
		{"/api/nope", "application/json; charset=utf-8"},
		{"/api", "application/json; charset=utf-8"},
		{"/ws", "application/json; charset=utf-8"},
	}
	for _, tt := range tests {
		rec := MustGet(t, http.MethodGet, tt.path, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: status = %d, want 404", tt.path, rec.Code)
		}
		if got := rec.Header().Get("Content-Type"); got != tt.wantType {
			t.Errorf("%s: Content-Type = %q, want %q", tt.path, got, tt.wantType)
		}
	}
	if body := MustGet(t, http.MethodGet, "/api/nope", nil).Body.String(); !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("/api/nope body = %s, want PROTOCOL.md's error shape", body)
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	for _, target := range []string{"/", "/rooms/x", "/js/main.js", "/app.css", "/js/missing.js", "/api/nope"} {
		rec := MustGet(t, http.MethodGet, target, nil)
		h := rec.Header()
		csp := h.Get("Content-Security-Policy")
		if csp == "" {
			t.Errorf("%s: no Content-Security-Policy", target)
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows unsafe code: %q", target, csp)
		}
		for _, directive := range []string{"script-src 'self'", "default-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, directive) {
				t.Errorf("%s: CSP lacks %q", target, directive)
			}
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", target, got)
		}
		if got := h.Get("Referrer-Policy"); got != "same-origin" {
			t.Errorf("%s: Referrer-Policy = %q", target, got)
		}
	}
}

func TestRevalidationWithETag(t *testing.T) {
	first := MustGet(t, http.MethodGet, "/js/main.js", nil)
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	again := MustGet(t, http.MethodGet, "/js/main.js", http.Header{"If-None-Match": {etag}})
	if again.Code != http.StatusNotModified {
		t.Errorf("status with matching If-None-Match = %d, want 304", again.Code)
	}
}

func TestMethods(t *testing.T) {
	head := MustGet(t, http.MethodHead, "/", nil)
	if head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD / = %d with %d body bytes", head.Code, head.Body.Len())
	}
	post := MustGet(t, http.MethodPost, "/", nil)
	if post.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", post.Code)
	}
}

// The CSP forbids inline script and inline handlers; a page that used them
// would silently not work, so catch it here.
func TestNoInlineScriptOrHandlers(t *testing.T) {
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	handler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	styleAttr := regexp.MustCompile(`(?i)\sstyle\s*=`)
	walkStatic(t, ".html", func(name, text string) {
		if inlineScript.MatchString(text) {
			t.Errorf("%s: inline <script> content", name)
		}
		for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(text, -1) {
			if !strings.Contains(tag, "src=") {
				t.Errorf("%s: %s has no src", name, tag)
			}
		}
		if m := handler.FindString(text); m != "" {
			t.Errorf("%s: inline event handler %q", name, m)
		}
		if m := styleAttr.FindString(text); m != "" {
			t.Errorf("%s: inline style attribute %q", name, m)
		}
	})
}

// Without a build step nothing else checks that module imports resolve.
func TestModuleImportsResolve(t *testing.T) {
	importRe := regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'`)
	files := MustFiles(t)
	walkStatic(t, ".js", func(name, text string) {
		for _, m := range importRe.FindAllStringSubmatch(text, -1) {
			spec := m[1]
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
				t.Errorf("%s: import %q is not a relative path (no CDN, no bare specifiers)", name, spec)
				continue
			}
			target := path.Join("/"+path.Dir(name), spec)
			if _, ok := files[target]; !ok {
				t.Errorf("%s: import %q: %s is not embedded", name, spec, target)
			}
		}
	})
	if _, ok := files["/js/main.js"]; !ok {
		t.Fatal("js/main.js is not embedded")
	}
}

// The merge rules of timeline.js and the backoff of socket.js have unit
// tests under testdata; they run when a recent enough node is installed.
func TestJavaScriptUnits(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil || !nodeDetectsModules(strings.TrimSpace(string(out))) {
		t.Skipf("node %s cannot load ES modules from .js files", strings.TrimSpace(string(out)))
	}
	cmd := exec.Command(node, "--test", "testdata/")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}

// nodeDetectsModules reports whether node version v ("v20.20.2") loads ES
// module syntax from .js files without a package.json (20.19+, 22.7+).
func nodeDetectsModules(v string) bool {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	switch {
	case major == 20:
		return minor >= 19
	case major == 22:
		return minor >= 7
	default:
		return major > 22
	}
}

// MustFiles loads the embedded files as the handler serves them.
func MustFiles(tb testing.TB) map[string]file {
	tb.Helper()
	h, err := load(static)
	if err != nil {
		tb.Fatal(err)
	}
	return h.files
}

func walkStatic(tb testing.TB, ext string, fn func(name, text string)) {
	tb.Helper()
	root, err := fs.Sub(static, "static")
	if err != nil {
		tb.Fatal(err)
	}
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) != ext {
			return err
		}
		b, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		fn(name, string(b))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}
