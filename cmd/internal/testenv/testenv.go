// Package testenv gives tests of the commands the services they run on: a
// fresh PostgreSQL database and a Redis key prefix of their own, both
// cleaned up when the test ends. A missing service skips the test with one
// line saying how to provide it, except under CI=true, where it fails.
package testenv

import (
	"testing"

	"github.com/chatlog/chat/adapters/bus/redistest"
	"github.com/chatlog/chat/adapters/postgres/pgtest"
)

// Postgres returns the URL of a new empty database, dropped at cleanup.
func Postgres(tb testing.TB) string {
	tb.Helper()
	return pgtest.NewDatabase(tb)
}

// Redis returns the test Redis URL and a fresh key prefix whose keys are
// deleted at cleanup.
func Redis(tb testing.TB) (url, prefix string) {
	tb.Helper()
	_, prefix = redistest.New(tb)
	return redistest.URL(), prefix
}
