package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chatlog/chat/projections"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// servingCache remembers which version of each projection serves reads,
// saving every read a round trip. It cannot go stale unnoticed: Activate
// drops every other version in the transaction that switches, so a read
// through a stale entry fails with undefined_table, which forgets the
// cache and retries.
type servingCache struct {
	mu       sync.RWMutex
	versions map[string]int
}

// lookup returns the serving version of every name, from the cache or
// else from the projections table.
func (c *servingCache) lookup(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, names []string) (map[string]int, error) {
	c.mu.RLock()
	out, complete := make(map[string]int, len(names)), true
	for _, n := range names {
		v, ok := c.versions[n]
		out[n], complete = v, complete && ok
	}
	c.mu.RUnlock()
	if complete {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT name, serving_version FROM projections WHERE name = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("serving versions: %w", err)
	}
	out = make(map[string]int, len(names))
	var name string
	var v int
	if _, err := pgx.ForEachRow(rows, []any{&name, &v}, func() error { out[name] = v; return nil }); err != nil {
		return nil, fmt.Errorf("serving versions: %w", err)
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("projection %s: %w", n, projections.ErrNoProjection)
		}
	}
	c.mu.Lock()
	if c.versions == nil {
		c.versions = map[string]int{}
	}
	for n, v := range out {
		c.versions[n] = v
	}
	c.mu.Unlock()
	return out, nil
}

func (c *servingCache) forget() {
	c.mu.Lock()
	c.versions = nil
	c.mu.Unlock()
}

// retryStale runs fn with the serving versions of names; when a version
// was dropped under it (a rebuild switched), it forgets the cache and
// runs fn again with fresh versions.
func (db *DB) retryStale(ctx context.Context, names []string, fn func(versions map[string]int) error) error {
	for attempt := 0; ; attempt++ {
		versions, err := db.serving.lookup(ctx, db.pool, names)
		if err != nil {
			return err
		}
		err = fn(versions)
		var pgErr *pgconn.PgError
		if attempt < 3 && errors.As(err, &pgErr) && pgErr.Code == "42P01" {
			db.serving.forget()
			continue
		}
		return err
	}
}
