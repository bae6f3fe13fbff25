// Package redistest gives tests a Redis key prefix of their own on the
// test Redis (CHAT_TEST_REDIS_URL, default redis://127.0.0.1:6379/0). When
// Redis cannot be reached the test is skipped with one line saying how to
// provide it, except under CI=true, where it fails.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URL is the test Redis.
func URL() string {
	if u := os.Getenv("CHAT_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// New returns a client of the test Redis and a fresh key prefix; at
// cleanup every key under the prefix is deleted and the client closed.
func New(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		tb.Fatalf("CHAT_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		if os.Getenv("CI") == "true" {
			tb.Fatalf("Redis at %s: %v", URL(), err)
		}
		tb.Skipf("Redis unreachable (%v): set CHAT_TEST_REDIS_URL or start Redis on 127.0.0.1:6379", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "chat_t_" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		DeletePrefix(tb, client, prefix)
		_ = client.Close()
	})
	return client, prefix
}

// DeletePrefix deletes every key under prefix: what FLUSHALL does to one
// test's streams and groups, without wiping the Redis other tests share.
func DeletePrefix(tb testing.TB, client *redis.Client, prefix string) {
	tb.Helper()
	ctx := context.Background()
	iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("list keys %s*: %v", prefix, err)
		return
	}
	if len(keys) > 0 {
		if err := client.Del(ctx, keys...).Err(); err != nil {
			tb.Errorf("delete keys %s*: %v", prefix, err)
		}
	}
}
