package ws

import (
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config wires the gateway's ports and sets its limits. Zero limits take
// the defaults of setDefaults.
type Config struct {
	Auth     Authenticator
	Commands Commands
	Rooms    Rooms
	History  History
	Signals  Signals // optional: nil keeps typing on this node

	// Node names this process in presence events.
	Node string
	// PublicURL, when set, is the origin browsers use (behind a proxy);
	// otherwise the scheme and Host of the handshake are. AllowedOrigins
	// are further trusted origins.
	PublicURL      string
	AllowedOrigins []string
	// TrustProxy lets X-Forwarded-Proto say the browser used https.
	TrustProxy bool

	// Heartbeat is announced in hello; a client silent for two of them is
	// closed.
	Heartbeat time.Duration
	// QueueLen bounds the frames waiting for one socket; overflow closes
	// it with 1013.
	QueueLen int
	// MaxInFlight bounds the commands one socket runs at once, so a
	// pipelining client cannot hold unbounded goroutines.
	MaxInFlight int
	// SendRate and SendBurst are the per-user token bucket for send, edit
	// and delete.
	SendRate  float64
	SendBurst int
	// PresenceGrace is how long a user stays online after their last
	// socket on this node closed (page reloads); under 5 s by PROTOCOL.md.
	PresenceGrace time.Duration
	// WriteTimeout bounds one write to a socket; CloseTimeout how long a
	// closing socket waits for the client's close frame.
	WriteTimeout time.Duration
	CloseTimeout time.Duration
	// CommandTimeout bounds one command or store read of a socket.
	CommandTimeout time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are not registered
}

// Defaults of the limits; PROTOCOL.md fixes the heartbeat.
const (
	DefaultHeartbeat      = 25 * time.Second
	DefaultQueueLen       = 512
	DefaultMaxInFlight    = 32
	DefaultSendRate       = 50
	DefaultSendBurst      = 100
	DefaultPresenceGrace  = 3 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultCloseTimeout   = 2 * time.Second
	DefaultCommandTimeout = 10 * time.Second
)

func (c *Config) setDefaults() {
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.QueueLen <= 0 {
		c.QueueLen = DefaultQueueLen
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.SendRate <= 0 {
		c.SendRate = DefaultSendRate
	}
	if c.SendBurst <= 0 {
		c.SendBurst = DefaultSendBurst
	}
	if c.PresenceGrace <= 0 {
		c.PresenceGrace = DefaultPresenceGrace
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a missing port or an impossible limit.
func (c *Config) Validate() error {
	switch {
	case c.Auth == nil:
		return errors.New("ws config: Auth is required")
	case c.Commands == nil:
		return errors.New("ws config: Commands is required")
	case c.Rooms == nil:
		return errors.New("ws config: Rooms is required")
	case c.History == nil:
		return errors.New("ws config: History is required")
	case c.Node == "":
		return errors.New("ws config: Node is required")
	case c.PresenceGrace >= 5*time.Second:
		return errors.New("ws config: PresenceGrace must be under 5s (PROTOCOL.md presence)")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return errors.New("ws config: PublicURL must be an absolute URL")
		}
	}
	return nil
}
