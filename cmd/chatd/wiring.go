package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/chatlog/chat/adapters/bus"
	"github.com/chatlog/chat/adapters/httpapi"
	"github.com/chatlog/chat/adapters/lease"
	"github.com/chatlog/chat/adapters/ws"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// busParts are the parts that hang off the bus: the relay, the projection
// runner, and the gateway with its lease.
type busParts struct {
	bus     *bus.Bus
	redis   *redis.Client // nil in embedded mode
	runner  *projections.Runner
	gateway *ws.Gateway // nil when this node is not a gateway
}

// startBus connects the bus and starts the roles this node plays. Each
// waits on its subscriptions before Start returns, so a test (or a load
// balancer) that sees the node listening never misses an update.
func (m *Main) startBus(ctx context.Context) (*busParts, error) {
	bp := &busParts{}
	var err error
	if bp.bus, bp.redis, err = m.openBus(ctx); err != nil {
		return nil, err
	}
	db := m.platform.DB
	bp.runner, err = m.platform.NewRunner(bp.bus, projections.NewRunnerMetrics(m.registry), m.log)
	if err != nil {
		return bp, err
	}
	if m.cfg.Has(RoleProjections) || m.platform.Embedded {
		if err := bp.runner.Start(ctx); err != nil {
			return bp, fmt.Errorf("start projections: %w", err)
		}
		m.goRun("projections", func() error {
			m.runProjections(bp)
			return nil
		})
	}
	if m.cfg.Has(RoleRelay) || m.platform.Embedded {
		relay, err := bus.NewRelay(bus.RelayConfig{Source: db, Bus: bp.bus, Logger: m.log, Metrics: m.busMetrics})
		if err != nil {
			return bp, err
		}
		m.goRun("relay", func() error { return ignoreCanceled(relay.Run(m.runCtx)) })
		m.goRun("sealer", func() error { return m.runSealer(m.cfg.SealInterval) })
	}
	if m.cfg.Has(RoleGateway) || m.platform.Embedded {
		if err := m.startGateway(ctx, bp); err != nil {
			return bp, err
		}
	}
	return bp, nil
}

func (m *Main) openBus(ctx context.Context) (*bus.Bus, *redis.Client, error) {
	m.busMetrics = bus.NewMetrics(m.registry)
	cfg := bus.Config{Prefix: m.cfg.RedisPrefix, Node: m.cfg.NodeID, Logger: m.log, Metrics: m.busMetrics}
	if m.platform.Embedded {
		return bus.NewEmbedded(cfg), nil, nil
	}
	opts, err := redis.ParseURL(m.cfg.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("redis-url: %w", err)
	}
	client := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("connect to Redis at %s: %w", redact(m.cfg.RedisURL), err)
	}
	b, err := bus.NewRedis(client, cfg)
	if err != nil {
		_ = client.Close()
		return nil, nil, err
	}
	return b, client, nil
}

// startGateway starts the socket gateway, its bus subscriptions and the
// node lease that takes its users offline if this process dies.
func (m *Main) startGateway(ctx context.Context, bp *busParts) error {
	db := m.platform.DB
	gw, err := ws.New(ws.Config{
		Auth: wsAuth{httpapi.Authenticator{Accounts: db, Now: time.Now}}, Commands: m.platform.Store,
		Rooms: ws.RoomsFromReadModel(db), History: db, Signals: wsSignals{bp.bus},
		Node: m.cfg.NodeID, PublicURL: m.cfg.PublicURL, AllowedOrigins: m.cfg.AllowedOrigins,
		TrustProxy: m.cfg.TrustProxy, Heartbeat: m.cfg.Heartbeat, Logger: m.log, Registerer: m.registry,
	})
	if err != nil {
		return err
	}
	bp.gateway = gw
	updates, signals := make(chan struct{}), make(chan struct{})
	m.goRun("updates", func() error {
		bp.bus.SubscribeUpdates(m.runCtx, gw.Deliver, closeOnce(updates))
		return nil
	})
	m.goRun("signals", func() error {
		bp.bus.SubscribeSignals(m.runCtx, func(s bus.Signal) { gw.DeliverTyping(s.Room, s.User, s.Frame) }, closeOnce(signals))
		return nil
	})
	for _, ch := range []chan struct{}{updates, signals} {
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("subscribe to the bus: %w", ctx.Err())
		}
	}
	var leases lease.Leases = &lease.Memory{}
	if bp.redis != nil {
		leases = lease.Redis{Client: bp.redis, Prefix: m.cfg.RedisPrefix}
	}
	keeper, err := lease.New(lease.Config{Node: m.cfg.NodeID, Leases: leases, Presence: db,
		Commands: m.platform.Store, Logger: m.log})
	if err != nil {
		return err
	}
	m.goRun("lease", func() error { return ignoreCanceled(keeper.Run(m.runCtx)) })
	return nil
}

// handler is what /ws serves: the gateway, or a clear error on nodes
// without the gateway role.
func (bp *busParts) handler() http.Handler {
	if bp.gateway == nil {
		return nil
	}
	return bp.gateway
}

// ping is the bus's readiness probe.
func (bp *busParts) ping(ctx context.Context) error { return bp.bus.Ping(ctx) }

// lagCheck fails readiness while a projection is more than max behind.
func (bp *busParts) lagCheck(max time.Duration) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		statuses, err := bp.runner.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range statuses {
			if s.LagSeconds > max.Seconds() {
				return fmt.Errorf("projection %s is %.1fs behind (limit %s)", s.Name, s.LagSeconds, max)
			}
		}
		return nil
	}
}

// shutdownGateway closes every socket with 1000 before the rest stops.
func (bp *busParts) shutdownGateway(ctx context.Context) error {
	if bp == nil || bp.gateway == nil {
		return nil
	}
	if err := bp.gateway.Shutdown(ctx); err != nil {
		return fmt.Errorf("gateway shutdown: %w", err)
	}
	return nil
}

// close releases the bus and Redis once every part using them stopped.
func (bp *busParts) close() error {
	if bp == nil || bp.bus == nil {
		return nil
	}
	err := bp.bus.Close()
	if bp.redis != nil {
		err = errors.Join(err, bp.redis.Close())
	}
	if err != nil {
		return fmt.Errorf("close bus: %w", err)
	}
	return nil
}

func closeOnce(ch chan struct{}) func() {
	done := false
	return func() {
		if !done {
			done = true
			close(ch)
		}
	}
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// wsAuth gives the gateway the API's authentication.
type wsAuth struct{ a httpapi.Authenticator }

func (w wsAuth) Authenticate(ctx context.Context, token string) (ws.Session, error) {
	p, err := w.a.Authenticate(ctx, token)
	if err != nil {
		return ws.Session{}, err
	}
	return ws.Session{ID: p.Session.ID, User: p.User}, nil
}

// wsSignals carries typing frames over chat.signals.
type wsSignals struct{ b *bus.Bus }

func (s wsSignals) PublishTyping(ctx context.Context, room, user uuid.UUID, frame []byte) error {
	return s.b.PublishSignal(ctx, bus.Signal{Room: room, User: user, Frame: frame})
}
