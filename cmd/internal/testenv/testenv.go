// Package testenv gives tests of the commands the services they run on: a
// fresh PostgreSQL database and a Redis key prefix of their own, both
// cleaned up when the test ends. A missing service skips the test with one
// line saying how to provide it, except under CI=true, where it fails.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/postgres/pgtest"
	"github.com/redis/go-redis/v9"
)

// Postgres returns the URL of a new empty database, dropped at cleanup.
func Postgres(tb testing.TB) string {
	tb.Helper()
	return pgtest.NewDatabase(tb)
}

// RedisURL is the test Redis: CHAT_TEST_REDIS_URL or the local default.
func RedisURL() string {
	if u := os.Getenv("CHAT_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Redis returns the test Redis URL and a fresh key prefix whose keys are
// deleted at cleanup.
func Redis(tb testing.TB) (url, prefix string) {
	tb.Helper()
	url = RedisURL()
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("CHAT_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		if os.Getenv("CI") == "true" {
			tb.Fatalf("redis at %s: %v", url, err)
		}
		tb.Skipf("Redis unreachable (%v): set CHAT_TEST_REDIS_URL or start Redis on 127.0.0.1:6379", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix = "chat_t_" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		defer client.Close()
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
	})
	return url, prefix
}
