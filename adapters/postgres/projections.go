package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/jackc/pgx/v5"
)

var _ projections.Store = (*Projections)(nil)

// Projections is the read-model side of the store: a projections.Store.
// It is a type of its own because eventstore.Backend and projections.Store
// both name their transaction opener Begin.
type Projections struct{ db *DB }

// Projections returns the read-model store sharing db's pool.
func (db *DB) Projections() *Projections { return &Projections{db: db} }

// inTx runs fn in a transaction and commits if it succeeds.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, db.pool, fn); err != nil {
		return err
	}
	return nil
}

// Prepare creates the tables and checkpoint of name@version if missing; the
// first version prepared for name becomes the serving one. A version
// prepared beside a serving one is being rebuilt: its read indexes wait for
// Activate. An advisory lock keeps two nodes preparing at once from racing
// on CREATE TABLE.
func (p *Projections) Prepare(ctx context.Context, name string, version int) error {
	if version <= 0 {
		return fmt.Errorf("prepare %s: version %d must be positive", name, version)
	}
	return p.db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockProjection(ctx, tx, name); err != nil {
			return fmt.Errorf("prepare %s v%d: %w", name, version, err)
		}
		serving, err := servingVersion(ctx, tx, name, "")
		if err != nil && !errors.Is(err, projections.ErrNoProjection) {
			return fmt.Errorf("prepare %s v%d: %w", name, version, err)
		}
		serves := serving == 0 || serving == version
		for _, ddl := range readModels[name].ddl(version, serves) {
			if _, err := tx.Exec(ctx, ddl); err != nil {
				return fmt.Errorf("create tables of %s v%d: %w", name, version, err)
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO projection_checkpoints (name, version) VALUES ($1, $2)
			ON CONFLICT (name, version) DO NOTHING`, name, version)
		if err != nil {
			return fmt.Errorf("create checkpoint of %s v%d: %w", name, version, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO projections (name, serving_version) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING`, name, version)
		if err != nil {
			return fmt.Errorf("register %s v%d: %w", name, version, err)
		}
		return nil
	})
}

// lockProjection takes the transaction-scoped advisory lock under which
// name's tables are created.
func lockProjection(ctx context.Context, tx pgx.Tx, name string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('projection:' || $1))`, name); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}

// createReadIndexes builds the read indexes of name@version, if that
// version is prepared, before it serves: each in a transaction of its own,
// all at once, as a build is one backend's work (one after the other they
// were a fifth of a history rebuild). It runs outside Activate's
// transaction so the serving version keeps applying meanwhile; nothing
// else writes a version being rebuilt.
func (p *Projections) createReadIndexes(ctx context.Context, name string, version int) error {
	ddls := readModels[name].readDDL(version)
	errs := make([]error, len(ddls))
	var wg sync.WaitGroup
	for i, ddl := range ddls {
		wg.Go(func() { errs[i] = p.createReadIndex(ctx, name, version, ddl) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lockReadIndex shares the projection's lock, which keeps Prepare out, and
// takes the index's own, so that two nodes activating at once build each
// index once (CREATE INDEX IF NOT EXISTS alone can race on the name).
const lockReadIndex = `SELECT pg_advisory_xact_lock_shared(hashtext('projection:' || $1)),
	pg_advisory_xact_lock(hashtext('projection index'), hashtext($2))`

func (p *Projections) createReadIndex(ctx context.Context, name string, version int, ddl string) error {
	return p.db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockReadIndex, name, ddl); err != nil {
			return fmt.Errorf("index %s v%d: lock: %w", name, version, err)
		}
		if _, err := checkpointOf(ctx, tx, name, version, false); errors.Is(err, projections.ErrNoProjection) {
			return nil // Activate reports it
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("index %s v%d: %w", name, version, err)
		}
		return nil
	})
}

// Versions returns the serving version of name and every prepared one
// (0 and none if name was never prepared).
func (p *Projections) Versions(ctx context.Context, name string) (int, []int, error) {
	serving, err := servingVersion(ctx, p.db.pool, name, "")
	if errors.Is(err, projections.ErrNoProjection) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	rows, err := p.db.pool.Query(ctx, `SELECT version FROM projection_checkpoints WHERE name = $1 ORDER BY version`, name)
	if err != nil {
		return 0, nil, fmt.Errorf("list versions of %s: %w", name, err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return 0, nil, fmt.Errorf("list versions of %s: %w", name, err)
	}
	return serving, all, nil
}

// querier is a pool, a connection or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// servingVersion reads the serving version of name, with lock appended to
// the query ("FOR SHARE", "FOR UPDATE" or "").
func servingVersion(ctx context.Context, q querier, name, lock string) (int, error) {
	var v int
	err := q.QueryRow(ctx, `SELECT serving_version FROM projections WHERE name = $1 `+lock, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("projection %s: %w", name, projections.ErrNoProjection)
	}
	if err != nil {
		return 0, fmt.Errorf("serving version of %s: %w", name, err)
	}
	return v, nil
}

// checkpointOf reads name@version's checkpoint, locked FOR UPDATE when
// lock is set.
func checkpointOf(ctx context.Context, q querier, name string, version int, lock bool) (domain.Cursor, error) {
	sql := `SELECT transaction_id, position FROM projection_checkpoints WHERE name = $1 AND version = $2`
	if lock {
		sql += ` FOR UPDATE`
	}
	var txID, pos int64
	err := q.QueryRow(ctx, sql, name, version).Scan(&txID, &pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Cursor{}, fmt.Errorf("checkpoint of %s v%d: %w", name, version, projections.ErrNoProjection)
	}
	if err != nil {
		return domain.Cursor{}, fmt.Errorf("checkpoint of %s v%d: %w", name, version, err)
	}
	return domain.Cursor{TxID: uint64(txID), Position: pos}, nil
}

// Activate builds version's read indexes, then makes it serve reads and
// drops every other version's tables and checkpoint, in one transaction, provided version's checkpoint equals
// the serving one's. Locking the projection row FOR UPDATE waits out every
// open batch (they hold it FOR SHARE), so none lands between the comparison
// and the switch.
func (p *Projections) Activate(ctx context.Context, name string, version int) error {
	if err := p.createReadIndexes(ctx, name, version); err != nil {
		return fmt.Errorf("activate %s v%d: %w", name, version, err)
	}
	return p.db.inTx(ctx, func(tx pgx.Tx) error {
		serving, err := servingVersion(ctx, tx, name, "FOR UPDATE")
		if err != nil {
			return fmt.Errorf("activate %s v%d: %w", name, version, err)
		}
		rows, err := tx.Query(ctx, `SELECT version FROM projection_checkpoints WHERE name = $1 ORDER BY version`, name)
		if err != nil {
			return fmt.Errorf("activate %s v%d: list versions: %w", name, version, err)
		}
		all, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return fmt.Errorf("activate %s v%d: list versions: %w", name, version, err)
		}
		if !slices.Contains(all, version) {
			return fmt.Errorf("activate %s v%d: %w", name, version, projections.ErrNoProjection)
		}
		cur, err := checkpointOf(ctx, tx, name, serving, true)
		if err != nil {
			return err
		}
		next, err := checkpointOf(ctx, tx, name, version, true)
		if err != nil {
			return err
		}
		if cur != next {
			return fmt.Errorf("activate %s v%d: its checkpoint %s differs from serving v%d's %s; let it catch up first",
				name, version, next, serving, cur)
		}
		if _, err := tx.Exec(ctx, `UPDATE projections SET serving_version = $1 WHERE name = $2`, version, name); err != nil {
			return fmt.Errorf("activate %s v%d: %w", name, version, err)
		}
		for _, old := range all {
			if old != version {
				if err := dropVersion(ctx, tx, name, old); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func dropVersion(ctx context.Context, tx pgx.Tx, name string, version int) error {
	for _, drop := range readModels[name].drops(version) {
		if _, err := tx.Exec(ctx, drop); err != nil {
			return fmt.Errorf("drop %s v%d: %w", name, version, err)
		}
	}
	_, err := tx.Exec(ctx, `DELETE FROM projection_checkpoints WHERE name = $1 AND version = $2`, name, version)
	if err != nil {
		return fmt.Errorf("drop checkpoint of %s v%d: %w", name, version, err)
	}
	return nil
}
