package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/chatlog/chat/adapters/auth"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// Config wires a Server.
type Config struct {
	Commands Commands
	Accounts Accounts
	Waiter   Waiter
	Rooms    Rooms
	History  History
	Checks   []Check
	// Gateway serves /ws, Web the browser client at /, Metrics /metrics.
	Gateway, Web, Metrics http.Handler

	// PublicURL is the server's own origin behind a proxy ("" = the
	// request's scheme and Host); AllowedOrigins are further trusted ones.
	PublicURL      string
	AllowedOrigins []string
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	SessionTTL time.Duration
	Node       string

	Now    func() time.Time
	NewID  func() uuid.UUID
	Logger *slog.Logger
	// Limits: log-in attempts per username and per address, registrations
	// per address. Nil gets the defaults.
	LoginPerUser, LoginPerAddr, RegisterPerAddr *auth.Limiter
	// WaitTimeout bounds how long a response waits for a projection to
	// show the request's own write.
	WaitTimeout    time.Duration
	RequestMetrics *Metrics // optional
	// Audit serves /api/audit/*; nil leaves those endpoints out.
	Audit Audit
}

func (c *Config) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewID == nil {
		c.NewID = func() uuid.UUID { return uuid.Must(uuid.NewV7()) }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 30 * 24 * time.Hour
	}
	if c.LoginPerUser == nil {
		c.LoginPerUser = auth.NewLimiter(6*time.Second, 10)
	}
	if c.LoginPerAddr == nil {
		c.LoginPerAddr = auth.NewLimiter(time.Second, 30)
	}
	if c.RegisterPerAddr == nil {
		c.RegisterPerAddr = auth.NewLimiter(10*time.Second, 20)
	}
	if c.WaitTimeout <= 0 {
		c.WaitTimeout = 5 * time.Second
	}
}

// Validate reports configuration that cannot work.
func (c *Config) Validate() error {
	if c.Commands == nil || c.Accounts == nil || c.Waiter == nil || c.Rooms == nil || c.History == nil {
		return errors.New("httpapi: Commands, Accounts, Waiter, Rooms and History are required")
	}
	return nil
}

// Server is the HTTP API.
type Server struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
}

// New builds the API's routes.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux.HandleFunc("POST /api/register", s.handle(s.register))
	s.mux.HandleFunc("POST /api/login", s.handle(s.login))
	s.mux.HandleFunc("POST /api/logout", s.authed(s.logout))
	s.mux.HandleFunc("GET /api/me", s.authed(s.me))
	s.mux.HandleFunc("GET /api/users", s.authed(s.directory))

	s.mux.HandleFunc("GET /api/admin/users", s.admin(s.listUsers))
	s.mux.HandleFunc("POST /api/admin/users", s.admin(s.createUser))
	s.mux.HandleFunc("POST /api/admin/users/{id}/{action}", s.admin(s.changeStatus))

	s.mux.HandleFunc("GET /api/rooms", s.authed(s.listRooms))
	s.mux.HandleFunc("POST /api/rooms", s.authed(s.createRoom))
	s.mux.HandleFunc("GET /api/rooms/{id}", s.authed(s.getRoom))
	s.mux.HandleFunc("POST /api/rooms/{id}/join", s.authed(s.joinRoom))
	s.mux.HandleFunc("POST /api/rooms/{id}/leave", s.authed(s.leaveRoom))
	s.mux.HandleFunc("POST /api/rooms/{id}/members", s.authed(s.addMember))
	s.mux.HandleFunc("GET /api/rooms/{id}/members", s.authed(s.listMembers))
	s.mux.HandleFunc("POST /api/direct/{user}", s.authed(s.openDirect))
	s.mux.HandleFunc("GET /api/rooms/{id}/messages", s.authed(s.listMessages))
	s.mux.HandleFunc("POST /api/rooms/{id}/messages", s.authed(s.postMessage))
	s.mux.HandleFunc("GET /api/search", s.authed(s.search))

	s.auditRoutes()

	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	if s.cfg.Gateway != nil {
		s.mux.Handle("/ws", s.cfg.Gateway)
	}
	s.mux.HandleFunc("/api/", s.handle(func(http.ResponseWriter, *http.Request) error {
		return domain.Errorf(domain.CodeNotFound, "no such endpoint")
	}))
	if s.cfg.Web != nil {
		s.mux.Handle("/", s.cfg.Web)
	}
}

// Route adds a handler of another part of the API (rooms, audit) with the
// same authentication and error handling.
func (s *Server) Route(pattern string, h func(w http.ResponseWriter, r *http.Request, p *Principal) error) {
	s.mux.HandleFunc(pattern, s.authed(h))
}

// ServeHTTP serves the API. Socket upgrades bypass the status recorder:
// the gateway hijacks the connection and keeps its own metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ws" || s.cfg.RequestMetrics == nil {
		s.serve(w, r)
		return
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	s.serve(rec, r)
	s.cfg.RequestMetrics.observe(r, rec.status, time.Since(start))
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.writeError(w, r, fmt.Errorf("panic: %v", v))
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// handle adapts a handler that returns an error.
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// meta describes the request for the events it causes.
func (s *Server) meta(r *http.Request, p *Principal) domain.Metadata {
	m := domain.Metadata{ClientAddr: s.clientAddr(r), Node: s.cfg.Node, Correlation: r.Header.Get("X-Request-Id")}
	if p != nil {
		m.ActorID, m.ActorName = p.User.ID.String(), p.User.Username
	}
	return m
}

// clientAddr is the address rate limits and audit metadata name.
func (s *Server) clientAddr(r *http.Request) string {
	if s.cfg.TrustProxy {
		if fwd := r.Header.Get("X-Forwarded-For"); fwd != "" {
			first, _, _ := strings.Cut(fwd, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// waitFor gives read-your-writes: it waits until projection name has
// applied the last of events. A projection that is late is logged, and the
// answer is served from what it has.
func (s *Server) waitFor(ctx context.Context, name string, events []domain.Event) {
	if len(events) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WaitTimeout)
	defer cancel()
	if err := s.cfg.Waiter.WaitFor(ctx, name, events[len(events)-1].Cursor()); err != nil {
		s.log.WarnContext(ctx, "projection did not catch up in time", "projection", name, "err", err)
	}
}
