package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/chatlog/chat/adapters/bus"
	"github.com/chatlog/chat/adapters/httpapi"
	"github.com/chatlog/chat/adapters/web"
	"github.com/chatlog/chat/cmd/internal/platform"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Main is one chatd process: NewMain, Start, then Close. Tests run it on
// 127.0.0.1:0 with a temporary data dir or a fresh database.
type Main struct {
	cfg      Config
	log      *slog.Logger
	registry *prometheus.Registry

	platform *platform.Platform
	bus      *busParts
	server   *http.Server
	pprof    *http.Server // nil unless PprofAddr is set
	listener net.Listener

	busMetrics *bus.Metrics
	// runCtx ends when Close stops the background parts.
	runCtx context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
}

// NewMain prepares a process; nothing runs until Start.
func NewMain(cfg Config) *Main {
	if cfg.NodeID == "" {
		cfg.NodeID = "node-" + uuid.NewString()[:8]
	}
	return &Main{cfg: cfg, log: newLogger(cfg.LogLevel).With("node", cfg.NodeID), errs: make(chan error, 8)}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// Start opens the store, starts the roles of this node and listens. A
// failure leaves nothing running.
func (m *Main) Start(ctx context.Context) (err error) {
	m.registry = prometheus.NewRegistry()
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.runCtx, m.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			_ = m.Close()
		}
	}()
	m.platform, err = platform.Open(ctx, platform.Options{DatabaseURL: m.cfg.DatabaseURL, DataDir: m.cfg.DataDir,
		Logger: m.log, Registerer: m.registry})
	if err != nil {
		return err
	}
	if m.bus, err = m.startBus(ctx); err != nil {
		return err
	}
	api, err := m.newAPI()
	if err != nil {
		return err
	}
	if m.listener, err = net.Listen("tcp", m.cfg.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", m.cfg.Addr, err)
	}
	m.server = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)}
	m.goRun("http", m.serve)
	if err := m.startPprof(); err != nil {
		return err
	}
	m.log.Info("chatd started", "addr", m.listener.Addr().String(), "embedded", m.platform.Embedded, "roles", strings.Join(m.cfg.Roles, ","))
	return nil
}

func (m *Main) serve() error {
	var err error
	if m.cfg.TLSCert != "" {
		m.server.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		err = m.server.ServeTLS(m.listener, m.cfg.TLSCert, m.cfg.TLSKey)
	} else {
		err = m.server.Serve(m.listener)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// goRun runs a background part; an unexpected failure is logged and kept
// for Close to report.
func (m *Main) goRun(name string, run func() error) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := run(); err != nil {
			m.log.Error("part stopped", "part", name, "err", err)
			select {
			case m.errs <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
	}()
}

// URL is where a browser reaches this process.
func (m *Main) URL() string {
	if m.cfg.PublicURL != "" {
		return m.cfg.PublicURL
	}
	scheme := "http"
	if m.cfg.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + m.listener.Addr().String()
}

func (m *Main) newAPI() (http.Handler, error) {
	db := m.platform.DB
	cfg := httpapi.Config{
		Commands: m.platform.Store, Accounts: db, Waiter: db, Rooms: db, History: db,
		Checks:         m.readinessChecks(),
		Gateway:        m.bus.handler(),
		Web:            web.Handler(),
		Metrics:        m.metricsHandler(),
		RequestMetrics: httpapi.NewMetrics(m.registry),
		Audit:          m.platform.Audit(),
		PublicURL:      m.cfg.PublicURL, AllowedOrigins: m.cfg.AllowedOrigins, TrustProxy: m.cfg.TrustProxy,
		SessionTTL: m.cfg.SessionTTL, Node: m.cfg.NodeID, Logger: m.log,
	}
	if m.cfg.editAPI != nil {
		m.cfg.editAPI(&cfg)
	}
	return httpapi.New(cfg)
}

// metricsHandler serves /metrics with the projection lag measured at
// scrape time, not up to one catch-up interval old.
func (m *Main) metricsHandler() http.Handler {
	prom := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.bus.runner.Status(r.Context()); err != nil {
			m.log.Warn("projection status for /metrics", "err", err)
		}
		prom.ServeHTTP(w, r)
	})
}

func (m *Main) readinessChecks() []httpapi.Check {
	return []httpapi.Check{
		{Name: "store", Check: m.platform.DB.Ping},
		{Name: "bus", Check: m.bus.ping},
		{Name: "projections", Check: m.bus.lagCheck(m.cfg.MaxLag)},
	}
}

// Close shuts down gracefully: stop accepting, close sockets with 1000,
// stop the background parts, drain the write path, close the store.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var errs []error
	if m.server != nil {
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	if m.pprof != nil {
		_ = m.pprof.Close() // profiles in flight are of no use after shutdown
	}
	if err := m.bus.shutdownGateway(ctx); err != nil {
		errs = append(errs, err)
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if err := m.bus.close(); err != nil {
		errs = append(errs, err)
	}
	if m.platform != nil {
		if err := m.platform.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	close(m.errs)
	for err := range m.errs {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
