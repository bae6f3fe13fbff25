package lease

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps leases as keys with a TTL, so Redis itself expires them.
type Redis struct {
	Client *redis.Client
	Prefix string // key prefix, to share one Redis
}

func (r Redis) key(node string) string { return r.Prefix + "chat:lease:" + node }

func (r Redis) Renew(ctx context.Context, node string, ttl time.Duration) error {
	if err := r.Client.Set(ctx, r.key(node), time.Now().UTC().Format(time.RFC3339), ttl).Err(); err != nil {
		return fmt.Errorf("renew lease %s: %w", node, err)
	}
	return nil
}

func (r Redis) Alive(ctx context.Context, nodes []string) (map[string]bool, error) {
	keys := make([]string, len(nodes))
	for i, n := range nodes {
		keys[i] = r.key(n)
	}
	vals, err := r.Client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	alive := make(map[string]bool, len(nodes))
	for i, v := range vals {
		alive[nodes[i]] = v != nil
	}
	return alive, nil
}

func (r Redis) Drop(ctx context.Context, node string) error {
	if err := r.Client.Del(ctx, r.key(node)).Err(); err != nil {
		return fmt.Errorf("drop lease %s: %w", node, err)
	}
	return nil
}

// Memory keeps leases in the process: the embedded mode has one node, whose
// lease only matters to clear what a crashed earlier run left behind.
type Memory struct {
	mu     sync.Mutex
	expiry map[string]time.Time
	Now    func() time.Time
}

func (m *Memory) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Memory) Renew(_ context.Context, node string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.expiry == nil {
		m.expiry = map[string]time.Time{}
	}
	m.expiry[node] = m.now().Add(ttl)
	return nil
}

func (m *Memory) Alive(_ context.Context, nodes []string) (map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	alive := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		alive[n] = m.now().Before(m.expiry[n])
	}
	return alive, nil
}

func (m *Memory) Drop(_ context.Context, node string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.expiry, node)
	return nil
}
