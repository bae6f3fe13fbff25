// Package lease keeps each node's liveness lease and takes the users of a
// node whose lease expired offline. A node that crashes never says goodbye;
// its lease (a Redis key with a TTL, renewed every few seconds) does it for
// it: any surviving node that sees a node with users online but no lease
// appends NodeStopped for it.
//
// It must never import a database adapter; the presence read model and the
// command runner are ports.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/chatlog/chat/domain"
)

// Leases stores node leases. Redis implements it for production; Memory for
// the single-process embedded mode.
type Leases interface {
	// Renew creates or extends node's lease for ttl.
	Renew(ctx context.Context, node string, ttl time.Duration) error
	// Alive reports which of nodes hold a lease.
	Alive(ctx context.Context, nodes []string) (map[string]bool, error)
	// Drop ends node's lease at once (clean shutdown).
	Drop(ctx context.Context, node string) error
}

// Presence lists the nodes the presence read model has users on.
type Presence interface {
	OnlineNodes(ctx context.Context) ([]string, error)
}

// Commands runs domain commands (the event store).
type Commands interface {
	Execute(ctx context.Context, cmd domain.Command, meta domain.Metadata) ([]domain.Event, error)
}

// Config configures a Keeper.
type Config struct {
	Node     string
	Leases   Leases
	Presence Presence
	Commands Commands
	// TTL is how long a lease outlives its last renewal; Renew is how often
	// it is renewed. Users of a dead node go offline within TTL + Renew.
	TTL, Renew time.Duration
	Logger     *slog.Logger
}

// Keeper renews this node's lease and reaps expired ones.
type Keeper struct{ cfg Config }

// New checks cfg and fills defaults (TTL 10 s, renewal every 2 s: a dead
// node's users are offline within 12 s, inside PROTOCOL.md's 15 s).
func New(cfg Config) (*Keeper, error) {
	if cfg.Node == "" || cfg.Leases == nil || cfg.Presence == nil || cfg.Commands == nil {
		return nil, errors.New("lease: Node, Leases, Presence and Commands are required")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Second
	}
	if cfg.Renew <= 0 {
		cfg.Renew = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Keeper{cfg: cfg}, nil
}

// Run renews the lease and reaps until ctx ends, then drops the lease and
// says NodeStopped for this node, so its users go offline at once.
func (k *Keeper) Run(ctx context.Context) error {
	meta := domain.Metadata{Node: k.cfg.Node}
	if err := k.cfg.Leases.Renew(ctx, k.cfg.Node, k.cfg.TTL); err != nil {
		return fmt.Errorf("first lease of %s: %w", k.cfg.Node, err)
	}
	if _, err := k.cfg.Commands.Execute(ctx, domain.StartNode{Node: k.cfg.Node}, meta); err != nil {
		return fmt.Errorf("node %s start: %w", k.cfg.Node, err)
	}
	tick := time.NewTicker(k.cfg.Renew)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return k.stop()
		case <-tick.C:
		}
		if err := k.cfg.Leases.Renew(ctx, k.cfg.Node, k.cfg.TTL); err != nil && ctx.Err() == nil {
			k.cfg.Logger.Error("renew node lease", "node", k.cfg.Node, "err", err)
		}
		if err := k.Reap(ctx); err != nil && ctx.Err() == nil {
			k.cfg.Logger.Error("reap expired leases", "err", err)
		}
	}
}

func (k *Keeper) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	meta := domain.Metadata{Node: k.cfg.Node}
	if _, err := k.cfg.Commands.Execute(ctx, domain.StopNode{Node: k.cfg.Node, Reason: "shutdown"}, meta); err != nil {
		return fmt.Errorf("node %s stop: %w", k.cfg.Node, err)
	}
	if err := k.cfg.Leases.Drop(ctx, k.cfg.Node); err != nil {
		return fmt.Errorf("drop lease of %s: %w", k.cfg.Node, err)
	}
	return nil
}

// Reap says NodeStopped for every node that has users online but no lease.
// Several nodes may reap the same dead node at once; the second NodeStopped
// finds nobody left and changes nothing.
func (k *Keeper) Reap(ctx context.Context) error {
	nodes, err := k.cfg.Presence.OnlineNodes(ctx)
	if err != nil {
		return fmt.Errorf("online nodes: %w", err)
	}
	if len(nodes) == 0 {
		return nil
	}
	alive, err := k.cfg.Leases.Alive(ctx, nodes)
	if err != nil {
		return fmt.Errorf("check leases: %w", err)
	}
	for _, n := range nodes {
		if alive[n] || n == k.cfg.Node {
			continue
		}
		k.cfg.Logger.Warn("node lease expired; taking its users offline", "node", n)
		cmd := domain.StopNode{Node: n, Reason: "lease_expired"}
		if _, err := k.cfg.Commands.Execute(ctx, cmd, domain.Metadata{Node: k.cfg.Node}); err != nil {
			return fmt.Errorf("stop node %s: %w", n, err)
		}
	}
	return nil
}
