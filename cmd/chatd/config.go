package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatlog/chat/adapters/httpapi"
)

// Config is chatd's configuration: every field has an environment variable
// and a flag that overrides it (listed in the README).
type Config struct {
	Addr           string
	DataDir        string
	DatabaseURL    string
	RedisURL       string
	RedisPrefix    string
	Roles          []string
	NodeID         string
	PublicURL      string
	AllowedOrigins []string
	TLSCert        string
	TLSKey         string
	TrustProxy     bool
	SessionTTL     time.Duration
	MaxLag         time.Duration
	LogLevel       string
	// SealInterval is how often the log is sealed (LogSealed over every
	// stream head).
	SealInterval time.Duration
	// Heartbeat is the sockets' heartbeat (hello's heartbeat_ms); a client
	// silent for two of them is closed.
	Heartbeat time.Duration
	// PprofAddr serves net/http/pprof on a separate listener (never the
	// public one); empty disables it.
	PprofAddr string
	// HeapFloor is the least heap target of the collector, in bytes (see
	// memory.go); 0 leaves GOGC alone.
	HeapFloor uint64

	// editAPI adjusts the HTTP API's settings before it is built: a test
	// hook (small rate limits), deliberately not a flag.
	editAPI func(*httpapi.Config)
}

// Roles a node can play.
const (
	RoleGateway     = "gateway"
	RoleProjections = "projections"
	RoleRelay       = "relay"
)

// ParseConfig reads the environment, then the flags in args.
func ParseConfig(args []string, getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	var c Config
	var roles, origins string
	fs := flag.NewFlagSet("chatd", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", env("CHAT_ADDR", "127.0.0.1:8080"), "listen address (CHAT_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("CHAT_DATA_DIR", "./data"), "embedded mode's data folder (CHAT_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("CHAT_DATABASE_URL", ""), "PostgreSQL URL; empty runs the embedded SQLite mode (CHAT_DATABASE_URL)")
	fs.StringVar(&c.RedisURL, "redis-url", env("CHAT_REDIS_URL", ""), "Redis URL; required with a database URL (CHAT_REDIS_URL)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", env("CHAT_REDIS_PREFIX", ""), "prefix of every Redis key, to share one Redis (CHAT_REDIS_PREFIX)")
	fs.StringVar(&roles, "roles", env("CHAT_ROLES", "gateway,projections,relay"), "what this node runs (CHAT_ROLES)")
	fs.StringVar(&c.NodeID, "node-id", env("CHAT_NODE_ID", ""), "stable node name; default random per start (CHAT_NODE_ID)")
	fs.StringVar(&c.PublicURL, "public-url", env("CHAT_PUBLIC_URL", ""), "origin browsers use, behind a proxy (CHAT_PUBLIC_URL)")
	fs.StringVar(&origins, "allowed-origins", env("CHAT_ALLOWED_ORIGINS", ""), "comma-separated extra trusted origins (CHAT_ALLOWED_ORIGINS)")
	fs.StringVar(&c.TLSCert, "tls-cert", env("CHAT_TLS_CERT", ""), "TLS certificate file (CHAT_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", env("CHAT_TLS_KEY", ""), "TLS key file (CHAT_TLS_KEY)")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", env("CHAT_TRUST_PROXY", "") == "true", "take client address and scheme from X-Forwarded-* (CHAT_TRUST_PROXY)")
	ttl := fs.String("session-ttl", env("CHAT_SESSION_TTL", "720h"), "session lifetime (CHAT_SESSION_TTL)")
	seal := fs.String("seal-interval", env("CHAT_SEAL_INTERVAL", "1m"), "how often to seal the log for auditors (CHAT_SEAL_INTERVAL)")
	heartbeat := fs.String("heartbeat", env("CHAT_HEARTBEAT", "25s"), "socket heartbeat; a client silent for two is closed (CHAT_HEARTBEAT)")
	lag := fs.String("max-lag", env("CHAT_MAX_LAG", "10s"), "projection lag over which /readyz fails (CHAT_MAX_LAG)")
	fs.StringVar(&c.PprofAddr, "pprof-addr", env("CHAT_PPROF_ADDR", ""), "serve /debug/pprof on this address, e.g. 127.0.0.1:6060 (CHAT_PPROF_ADDR)")
	heapFloor := fs.String("heap-floor-mib", env("CHAT_HEAP_FLOOR_MIB", "64"), "least heap the garbage collector lets grow before it runs, in MiB; 0: GOGC alone (CHAT_HEAP_FLOOR_MIB)")
	fs.StringVar(&c.LogLevel, "log-level", env("CHAT_LOG_LEVEL", "info"), "debug, info, warn or error (CHAT_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var err error
	if c.HeapFloor, err = strconv.ParseUint(*heapFloor, 10, 44); err != nil {
		return c, fmt.Errorf("heap-floor-mib: %q is not a whole number of MiB", *heapFloor)
	}
	c.HeapFloor <<= 20
	if c.SessionTTL, err = time.ParseDuration(*ttl); err != nil || c.SessionTTL <= 0 {
		return c, fmt.Errorf("session-ttl: %q is not a positive duration", *ttl)
	}
	if c.SealInterval, err = time.ParseDuration(*seal); err != nil || c.SealInterval <= 0 {
		return c, fmt.Errorf("seal-interval: %q is not a positive duration", *seal)
	}
	if c.Heartbeat, err = time.ParseDuration(*heartbeat); err != nil || c.Heartbeat < 100*time.Millisecond {
		return c, fmt.Errorf("heartbeat: %q is not a duration of at least 100ms", *heartbeat)
	}
	if c.MaxLag, err = time.ParseDuration(*lag); err != nil || c.MaxLag <= 0 {
		return c, fmt.Errorf("max-lag: %q is not a positive duration", *lag)
	}
	c.Roles = splitList(roles)
	c.AllowedOrigins = splitList(origins)
	return c, c.Validate()
}

// Validate reports settings that cannot work, in one line each.
func (c Config) Validate() error {
	for _, r := range c.Roles {
		if r != RoleGateway && r != RoleProjections && r != RoleRelay {
			return fmt.Errorf("roles: unknown role %q (want gateway, projections, relay)", r)
		}
	}
	if len(c.Roles) == 0 {
		return errors.New("roles: at least one of gateway, projections, relay")
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return fmt.Errorf("database-url: want postgres://…, got %q", redact(c.DatabaseURL))
		}
		if c.RedisURL == "" {
			return errors.New("redis-url: required when database-url is set (production mode)")
		}
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return fmt.Errorf("redis-url: want redis://…, got %q", redact(c.RedisURL))
		}
		if c.DatabaseURL == "" {
			return errors.New("database-url: required when redis-url is set (production mode)")
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls-cert and tls-key: set both or neither")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || u.Host == "" {
			return fmt.Errorf("public-url: %q is not an absolute URL", c.PublicURL)
		}
	}
	return nil
}

// Embedded reports whether chatd runs on SQLite and the in-process bus.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// Has reports whether the node plays role.
func (c Config) Has(role string) bool { return slices.Contains(c.Roles, role) }

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// redact hides a URL's password in messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
