package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/chatlog/chat/adapters/auth"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
)

// CookieName is the session cookie of PROTOCOL.md.
const CookieName = "chat_session"

// Principal is the authenticated caller of a request.
type Principal struct {
	Session Session
	User    projections.User
	// ByCookie is true when the cookie, not a bearer token, authenticated
	// the request: such writes must come from our own origin.
	ByCookie bool
}

// TokenFrom returns the request's session token and whether it came from
// the cookie. The Authorization header wins over the cookie.
func TokenFrom(r *http.Request) (token string, byCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t), false
		}
		return "", false
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value, true
	}
	return "", false
}

// Authenticator resolves session tokens to principals. The API and the
// WebSocket gateway share one, so both accept exactly the same sessions.
type Authenticator struct {
	Accounts Accounts
	Now      func() time.Time
}

// Authenticate resolves a token to its principal: the session must exist,
// be neither revoked nor expired, and belong to an approved user. Anything
// else is CodeUnauthorized; other errors are the store's.
func (a Authenticator) Authenticate(ctx context.Context, token string) (*Principal, error) {
	unauthorized := domain.Errorf(domain.CodeUnauthorized, "no valid session")
	if token == "" {
		return nil, unauthorized
	}
	// One read for both: every request and socket upgrade comes here, and
	// in a reconnect storm a second query doubles the wait on the pool.
	sess, user, err := a.Accounts.SessionUser(ctx, auth.HashToken(token))
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return nil, unauthorized
	}
	if err != nil {
		return nil, err
	}
	if sess.Revoked || !a.Now().Before(sess.ExpiresAt) || user.Status != domain.StatusApproved {
		return nil, unauthorized
	}
	return &Principal{Session: sess, User: user}, nil
}

// Authenticate resolves a token with the server's accounts and clock.
func (s *Server) Authenticate(ctx context.Context, token string) (*Principal, error) {
	return Authenticator{Accounts: s.cfg.Accounts, Now: s.cfg.Now}.Authenticate(ctx, token)
}

// authed wraps a handler that needs a session, checking Origin on
// cookie-authenticated writes (CSRF).
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *Principal) error) http.HandlerFunc {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		token, byCookie := TokenFrom(r)
		p, err := s.Authenticate(r.Context(), token)
		if err != nil {
			return err
		}
		p.ByCookie = byCookie
		if byCookie && r.Method != http.MethodGet && r.Method != http.MethodHead && !s.SameOrigin(r) {
			return domain.Errorf(domain.CodeForbidden, "cross-origin request refused")
		}
		return h(w, r, p)
	})
}

// admin wraps a handler for administrators.
func (s *Server) admin(h func(http.ResponseWriter, *http.Request, *Principal) error) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if !p.User.HasRole(domain.RoleAdmin) {
			return domain.Errorf(domain.CodeForbidden, "administrators only")
		}
		return h(w, r, p)
	})
}

// SameOrigin reports whether the request's Origin is the server's own (the
// configured public URL, or the scheme and Host of the request) or one of
// the allowed origins. A missing Origin is not same-origin.
func (s *Server) SameOrigin(r *http.Request) bool {
	return OriginAllowed(r.Header.Get("Origin"), s.OwnOrigin(r), s.cfg.AllowedOrigins)
}

// OwnOrigin is the origin browsers see for this server.
func (s *Server) OwnOrigin(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		if u, err := url.Parse(s.cfg.PublicURL); err == nil {
			return u.Scheme + "://" + u.Host
		}
	}
	scheme := "http"
	if r.TLS != nil || (s.cfg.TrustProxy && r.Header.Get("X-Forwarded-Proto") == "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// OriginAllowed compares origins case-insensitively, as browsers send them.
func OriginAllowed(origin, own string, allowed []string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	origin = strings.ToLower(strings.TrimSuffix(origin, "/"))
	if origin == strings.ToLower(own) {
		return true
	}
	return slices.ContainsFunc(allowed, func(a string) bool {
		return strings.ToLower(strings.TrimSuffix(a, "/")) == origin
	})
}

// setSessionCookie stores the token in an HttpOnly cookie; Secure when the
// browser reached us over TLS.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   strings.HasPrefix(s.OwnOrigin(r), "https://"),
	})
}
