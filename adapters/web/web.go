// Package web serves the browser client: a handful of static files (HTML,
// CSS and plain JavaScript modules, no build step) embedded in the binary.
//
// The client talks to the server only through the public contract of
// PROTOCOL.md (HTTP under /api and the socket at /ws), so this package
// imports the standard library and nothing else of the chat: it must never
// import the domain, the projections or another adapter.
//
// Every response carries a Content-Security-Policy that forbids inline
// script, so the client may not use inline <script> or on* attributes; the
// same policy is the second line of defence behind rendering user text with
// textContent.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is set on every response. Scripts and styles come
// only from this origin (no 'unsafe-inline'); the socket may use ws: or wss:
// because older browsers do not count them as 'self'.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; " +
	"base-uri 'none'; form-action 'self'"

// contentTypes is fixed here rather than taken from package mime, whose
// table the host's /etc/mime.types can change (some name .js
// application/x-javascript, which strict module loading rejects).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

// file is one static file, read once: the set is small and never changes
// while the process runs.
type file struct {
	body        []byte
	contentType string
	etag        string
}

type handler struct {
	files map[string]file // by URL path, "/index.html", "/js/main.js"
	index file
}

// Handler serves the client. "/" and any path that is not a file and does
// not look like one (no extension: "/rooms/<id>", "/admin") get index.html,
// so the client's own router decides what they show. Paths under /api and
// /ws are never the client's: they get 404 here, in PROTOCOL.md's error
// shape, in case the API does not claim them first.
//
// Files are sent with "Cache-Control: no-cache" and a strong ETag: without
// a build step the names carry no content hash, so browsers must revalidate,
// and a 304 keeps that cheap.
func Handler() http.Handler {
	h, err := load(static)
	if err != nil {
		// Only a broken build gets here (the files are compiled in); say so
		// on every request rather than panic while the server starts.
		return withHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "web client unavailable: "+err.Error(), http.StatusInternalServerError)
		}))
	}
	return withHeaders(h)
}

func load(fsys fs.FS) (*handler, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	h := &handler{files: make(map[string]file)}
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype, ok := contentTypes[path.Ext(name)]
		if !ok {
			ctype = "application/octet-stream"
		}
		h.files["/"+name] = file{body: body, contentType: ctype, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	index, ok := h.files["/index.html"]
	if !ok {
		return nil, fs.ErrNotExist
	}
	h.index = index
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := path.Clean("/" + r.URL.Path)
	if isServerPath(p) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no such endpoint"}}` + "\n"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, ok := h.files[p]
	switch {
	case ok:
	case path.Ext(p) != "":
		// A missing asset must stay a 404: answering index.html for
		// /js/typo.js would surface as a baffling MIME-type error.
		http.NotFound(w, r)
		return
	default:
		f = h.index
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// isServerPath reports the paths that belong to the API and the socket.
func isServerPath(p string) bool {
	for _, prefix := range []string{"/api", "/ws"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// withHeaders sets the security headers on every response, errors included.
func withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}
