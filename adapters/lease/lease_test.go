package lease

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

type fakePresence struct{ nodes []string }

func (f *fakePresence) OnlineNodes(context.Context) ([]string, error) { return f.nodes, nil }

type fakeCommands struct {
	mu   sync.Mutex
	cmds []domain.Command
}

func (f *fakeCommands) Execute(_ context.Context, c domain.Command, _ domain.Metadata) ([]domain.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, c)
	return nil, nil
}

func TestReapStopsOnlyNodesWithoutLease(t *testing.T) {
	ctx := context.Background()
	leases := &Memory{}
	cmds := &fakeCommands{}
	presence := &fakePresence{nodes: []string{"a", "dead", "b"}}
	k, err := New(Config{Node: "a", Leases: leases, Presence: presence, Commands: cmds})
	if err != nil {
		t.Fatal(err)
	}
	_ = leases.Renew(ctx, "a", time.Minute)
	_ = leases.Renew(ctx, "b", time.Minute)
	_ = leases.Renew(ctx, "dead", -time.Second) // expired
	if err := k.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	if len(cmds.cmds) != 1 || cmds.cmds[0] != (domain.StopNode{Node: "dead", Reason: "lease_expired"}) {
		t.Fatalf("commands: %+v", cmds.cmds)
	}
}

func TestRunStartsAndStopsTheNode(t *testing.T) {
	leases := &Memory{}
	cmds := &fakeCommands{}
	k, _ := New(Config{Node: "n1", Leases: leases, Presence: &fakePresence{}, Commands: cmds, Renew: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := k.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(cmds.cmds) != 2 || cmds.cmds[0] != (domain.StartNode{Node: "n1"}) || cmds.cmds[1] != (domain.StopNode{Node: "n1", Reason: "shutdown"}) {
		t.Fatalf("commands: %+v", cmds.cmds)
	}
	if alive, _ := leases.Alive(context.Background(), []string{"n1"}); alive["n1"] {
		t.Fatal("lease kept after a clean stop")
	}
}

func TestRedisLeasesExpire(t *testing.T) {
	url := os.Getenv("CHAT_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opt)
	defer client.Close()
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis unreachable at %s: %v", url, err)
		}
		t.Skipf("Redis unreachable at %s (set CHAT_TEST_REDIS_URL or start redis-server): %v", url, err)
	}
	r := Redis{Client: client, Prefix: "test-" + uuid.NewString() + ":"}
	if err := r.Renew(ctx, "n1", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Drop(context.Background(), "n1") })
	if alive, err := r.Alive(ctx, []string{"n1", "n2"}); err != nil || !alive["n1"] || alive["n2"] {
		t.Fatalf("alive=%v err=%v", alive, err)
	}
	time.Sleep(400 * time.Millisecond)
	if alive, _ := r.Alive(ctx, []string{"n1"}); alive["n1"] {
		t.Fatal("lease outlived its TTL")
	}
}
