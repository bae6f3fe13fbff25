package ws

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chatlog/chat/domain"
	gws "github.com/gobwas/ws"
)

// CookieName is the session cookie of PROTOCOL.md.
const CookieName = "chat_session"

// handshakeTimeout bounds reading and answering an upgrade request.
const handshakeTimeout = 10 * time.Second

// credentials are what a handshake brings for admission.
type credentials struct {
	scheme, host, origin string
	token                string
	bearer               bool
}

// admit applies PROTOCOL.md's handshake rules: a foreign Origin is 403
// whatever the credentials; no valid session is 401; a missing Origin is
// accepted only with a bearer token (browsers always send one).
func (g *Gateway) admit(ctx context.Context, cr credentials) (Session, int, error) {
	if cr.origin != "" && !g.originAllowed(cr) {
		return Session{}, http.StatusForbidden, domain.Errorf(domain.CodeForbidden, "origin %q is not allowed", cr.origin)
	}
	if cr.token == "" {
		return Session{}, http.StatusUnauthorized, domain.Errorf(domain.CodeUnauthorized, "no valid session")
	}
	sess, err := g.cfg.Auth.Authenticate(ctx, cr.token)
	switch domain.ErrorCode(err) {
	case "":
	case domain.CodeUnauthorized, domain.CodeNotFound, domain.CodeRejected, domain.CodePendingApproval:
		return Session{}, http.StatusUnauthorized, domain.Errorf(domain.CodeUnauthorized, "no valid session")
	default:
		return Session{}, http.StatusInternalServerError, fmt.Errorf("authenticate socket: %w", err)
	}
	if cr.origin == "" && !cr.bearer {
		return Session{}, http.StatusForbidden, domain.Errorf(domain.CodeForbidden, "a cookie-authenticated socket needs an Origin")
	}
	return sess, 0, nil
}

// originAllowed compares origins case-insensitively: the public URL (or
// the request's own scheme and Host) and the configured list.
func (g *Gateway) originAllowed(cr credentials) bool {
	origin := strings.ToLower(strings.TrimSuffix(cr.origin, "/"))
	own := cr.scheme + "://" + cr.host
	if g.cfg.PublicURL != "" {
		if u, err := url.Parse(g.cfg.PublicURL); err == nil {
			own = u.Scheme + "://" + u.Host
		}
	}
	if origin == strings.ToLower(own) {
		return true
	}
	for _, a := range g.cfg.AllowedOrigins {
		if strings.ToLower(strings.TrimSuffix(a, "/")) == origin {
			return true
		}
	}
	return false
}

// tokenFrom reads the bearer token (it wins) or the session cookie.
func tokenFrom(authorization string, cookies []*http.Cookie) (string, bool) {
	if authorization != "" {
		if t, ok := strings.CutPrefix(authorization, "Bearer "); ok {
			return strings.TrimSpace(t), true
		}
		return "", false
	}
	for _, c := range cookies {
		if c.Name == CookieName {
			return c.Value, false
		}
	}
	return "", false
}

// ServeHTTP upgrades a GET /ws routed by net/http. The session and Origin
// are checked before the upgrade, so a refused handshake is a plain HTTP
// answer. After the hijack only the bytes the client already sent are
// kept and the handler returns, so net/http's request, response, 4 KiB
// reader and writer and its goroutine all go: an idle socket costs about
// what it costs through ServeConn (TestIdleConnectionMemory measures both).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.isClosed() {
		writeHTTPError(w, http.StatusServiceUnavailable, "unavailable", "server shutting down")
		return
	}
	token, bearer := tokenFrom(r.Header.Get("Authorization"), r.Cookies())
	scheme := "http"
	if r.TLS != nil || (g.cfg.TrustProxy && r.Header.Get("X-Forwarded-Proto") == "https") {
		scheme = "https"
	}
	sess, status, err := g.admit(r.Context(), credentials{scheme: scheme, host: r.Host,
		origin: r.Header.Get("Origin"), token: token, bearer: bearer})
	if err != nil {
		g.refused(status, err)
		writeHTTPError(w, status, wireCodeHTTP(status), domain.ErrorMessage(err))
		return
	}
	nc, rw, _, err := gws.HTTPUpgrader{}.Upgrade(r, w)
	if err != nil {
		g.m.handshakes.WithLabelValues("bad_handshake").Inc()
		g.log.Debug("upgrade", "err", err)
		if nc != nil {
			_ = nc.Close()
		}
		return
	}
	if n := rw.Reader.Buffered(); n > 0 {
		early, _ := rw.Reader.Peek(n) // n bytes are buffered: cannot fail
		nc = &prefixConn{Conn: nc, prefix: bytes.Clone(early)}
	}
	g.m.handshakes.WithLabelValues("ok").Inc()
	g.serve(nc, sess)
}

func (g *Gateway) isClosed() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.closed
}

func (g *Gateway) refused(status int, err error) {
	g.m.handshakes.WithLabelValues(wireCodeHTTP(status)).Inc()
	if status == http.StatusInternalServerError {
		g.log.Error("socket handshake", "err", err)
	}
}

func wireCodeHTTP(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "internal"
}

func writeHTTPError(w http.ResponseWriter, status int, code, msg string) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// prefixConn replays bytes read before the hijack.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		if len(c.prefix) == 0 {
			c.prefix = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes like the connection under it.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ServeConn upgrades a raw connection with gobwas's zero-copy Upgrader:
// the request is parsed in a pooled buffer that is returned before the
// socket starts, headers are looked at in callbacks without copying, and
// nothing of net/http is involved. It returns once the socket runs on its
// own goroutine (or was refused).
func (g *Gateway) ServeConn(nc net.Conn) {
	if g.isClosed() {
		_ = nc.Close()
		return
	}
	var cr credentials
	cr.scheme = "http"
	if _, ok := nc.(*tls.Conn); ok {
		cr.scheme = "https"
	}
	var authz, cookie string
	var sess Session
	u := gws.Upgrader{
		OnHost: func(host []byte) error { cr.host = string(host); return nil },
		OnHeader: func(key, value []byte) error {
			switch {
			case bytes.EqualFold(key, []byte("Origin")):
				cr.origin = string(value)
			case bytes.EqualFold(key, []byte("Authorization")):
				authz = string(value)
			case bytes.EqualFold(key, []byte("Cookie")):
				cookie = string(value)
			}
			return nil
		},
		OnBeforeUpgrade: func() (gws.HandshakeHeader, error) {
			cookies, _ := http.ParseCookie(cookie) // a malformed cookie is no cookie
			cr.token, cr.bearer = tokenFrom(authz, cookies)
			ctx, cancel := context.WithTimeout(g.ctx, handshakeTimeout)
			defer cancel()
			var status int
			var err error
			sess, status, err = g.admit(ctx, cr)
			if err != nil {
				g.refused(status, err)
				return nil, gws.RejectConnectionError(gws.RejectionStatus(status),
					gws.RejectionReason(domain.ErrorMessage(err)))
			}
			return gws.HandshakeHeaderString(""), nil
		},
	}
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	if _, err := u.Upgrade(nc); err != nil {
		var rej *gws.ConnectionRejectedError
		if !errors.As(err, &rej) {
			g.m.handshakes.WithLabelValues("bad_handshake").Inc()
		}
		_ = nc.Close()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	g.m.handshakes.WithLabelValues("ok").Inc()
	g.serve(nc, sess)
}

// Serve accepts connections on ln and serves each as a socket (any path:
// the listener is the gateway's own), until Shutdown closes ln.
func (g *Gateway) Serve(ln net.Listener) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return net.ErrClosed
	}
	g.listeners[ln] = struct{}{}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.listeners, ln)
		g.mu.Unlock()
	}()
	for delay := time.Duration(0); ; {
		nc, err := ln.Accept()
		if err != nil {
			if g.isClosed() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like pass; back off meanwhile.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			g.log.Warn("accept socket", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go g.ServeConn(nc)
	}
}
