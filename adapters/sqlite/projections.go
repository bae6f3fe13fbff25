package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
)

var _ projections.Store = (*Projections)(nil)

// Projections is the read-model side of the store: a projections.Store.
// It is a type of its own because eventstore.Backend and projections.Store
// both name their transaction opener Begin.
type Projections struct{ db *DB }

// Projections returns the read-model store sharing db's connections.
func (db *DB) Projections() *Projections { return &Projections{db: db} }

// Prepare creates the tables and checkpoint of name@version if missing; the
// first version prepared for name becomes the serving one.
func (p *Projections) Prepare(ctx context.Context, name string, version int) error {
	return p.db.inWriteTx(ctx, func(tx *sql.Tx) error {
		for _, ddl := range readModels[name].ddl(version) {
			if _, err := tx.ExecContext(ctx, ddl); err != nil {
				return fmt.Errorf("create tables of %s v%d: %w", name, version, err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO projection_checkpoints (name, version) VALUES (?, ?)
			ON CONFLICT (name, version) DO NOTHING`, name, version)
		if err != nil {
			return fmt.Errorf("create checkpoint of %s v%d: %w", name, version, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO projections (name, serving) VALUES (?, ?)
			ON CONFLICT (name) DO NOTHING`, name, version)
		if err != nil {
			return fmt.Errorf("register %s v%d: %w", name, version, err)
		}
		return nil
	})
}

// Versions returns the serving version of name and every prepared one
// (0 and none if name was never prepared).
func (p *Projections) Versions(ctx context.Context, name string) (int, []int, error) {
	serving, err := servingVersion(ctx, p.db.read, name)
	if errors.Is(err, projections.ErrNoProjection) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	all, err := listVersions(ctx, p.db.read, name)
	if err != nil {
		return 0, nil, err
	}
	return serving, all, nil
}

// Activate makes version serve reads and drops every other version's tables
// and checkpoint, in one transaction, provided version's checkpoint equals
// the serving one's. Holding the writer keeps any batch from landing between
// the comparison and the switch.
func (p *Projections) Activate(ctx context.Context, name string, version int) error {
	return p.db.inWriteTx(ctx, func(tx *sql.Tx) error {
		serving, err := servingVersion(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("activate %s v%d: %w", name, version, err)
		}
		all, err := listVersions(ctx, tx, name)
		if err != nil {
			return err
		}
		if !slices.Contains(all, version) {
			return fmt.Errorf("activate %s v%d: %w", name, version, projections.ErrNoProjection)
		}
		cur, err := checkpointOf(ctx, tx, name, serving)
		if err != nil {
			return err
		}
		next, err := checkpointOf(ctx, tx, name, version)
		if err != nil {
			return err
		}
		if cur != next {
			return fmt.Errorf("activate %s v%d: checkpoint %s differs from serving v%d at %s",
				name, version, next, serving, cur)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE projections SET serving = ? WHERE name = ?`, version, name); err != nil {
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

func dropVersion(ctx context.Context, tx *sql.Tx, name string, version int) error {
	for _, drop := range readModels[name].drops(version) {
		if _, err := tx.ExecContext(ctx, drop); err != nil {
			return fmt.Errorf("drop %s v%d: %w", name, version, err)
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM projection_checkpoints WHERE name = ? AND version = ?`, name, version)
	if err != nil {
		return fmt.Errorf("drop checkpoint of %s v%d: %w", name, version, err)
	}
	return nil
}

func listVersions(ctx context.Context, q querier, name string) ([]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM projection_checkpoints WHERE name = ? ORDER BY version`, name)
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", name, err)
	}
	defer rows.Close()
	var all []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("list versions of %s: %w", name, err)
		}
		all = append(all, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", name, err)
	}
	return all, nil
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func servingVersion(ctx context.Context, q querier, name string) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT serving FROM projections WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("projection %s: %w", name, projections.ErrNoProjection)
	}
	if err != nil {
		return 0, fmt.Errorf("serving version of %s: %w", name, err)
	}
	return v, nil
}

func checkpointOf(ctx context.Context, q querier, name string, version int) (domain.Cursor, error) {
	var txID, pos int64
	err := q.QueryRowContext(ctx, `SELECT transaction_id, position FROM projection_checkpoints
		WHERE name = ? AND version = ?`, name, version).Scan(&txID, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Cursor{}, fmt.Errorf("checkpoint of %s v%d: %w", name, version, projections.ErrNoProjection)
	}
	if err != nil {
		return domain.Cursor{}, fmt.Errorf("checkpoint of %s v%d: %w", name, version, err)
	}
	return domain.Cursor{TxID: uint64(txID), Position: pos}, nil
}

// inWriteTx runs fn in a write transaction and commits if it succeeds.
func (db *DB) inWriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rbErr := rollbackUnlessDone(tx); rbErr != nil {
			db.log.Error("rollback", "err", rbErr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Begin opens a transaction on the serving version of name. It holds the
// writer until Commit or Rollback, which is also what keeps two runners
// from applying the same batch.
func (p *Projections) Begin(ctx context.Context, name string) (projections.Tx, error) {
	return p.beginProjection(ctx, name, 0)
}

// BeginVersion opens a transaction on name@version, serving or not.
func (p *Projections) BeginVersion(ctx context.Context, name string, version int) (projections.Tx, error) {
	if version <= 0 {
		return nil, fmt.Errorf("begin %s: version %d: %w", name, version, projections.ErrNoProjection)
	}
	return p.beginProjection(ctx, name, version)
}

// beginProjection opens a transaction on name@version, or on the serving
// version when version is 0, read inside the transaction so an Activate
// cannot slip in between.
func (p *Projections) beginProjection(ctx context.Context, name string, version int) (projections.Tx, error) {
	db := p.db
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin %s: %w", name, err)
	}
	t := &projTx{txStmts: txStmts{db: db, tx: tx}, name: name, version: version}
	if version == 0 {
		t.version, err = servingVersion(ctx, tx, name)
	}
	if err == nil {
		t.checkpoint, err = checkpointOf(ctx, tx, name, t.version)
	}
	if err != nil {
		if rbErr := rollbackUnlessDone(tx); rbErr != nil {
			db.log.Error("rollback", "projection", name, "err", rbErr)
		}
		return nil, fmt.Errorf("begin: %w", err)
	}
	return t, nil
}

// projTx is a projections.Tx on one projection version.
type projTx struct {
	txStmts
	name       string
	version    int
	checkpoint domain.Cursor // as read at Begin, then as set
	committed  bool
}

func (t *projTx) Version() int { return t.version }

// Checkpoint returns the version's checkpoint (read at Begin, under the
// writer, so it cannot have moved since).
func (t *projTx) Checkpoint(context.Context) (domain.Cursor, error) { return t.checkpoint, nil }

func (t *projTx) SetCheckpoint(ctx context.Context, c domain.Cursor) error {
	_, err := t.exec(ctx, `UPDATE projection_checkpoints SET transaction_id = ?, position = ?
		WHERE name = ? AND version = ?`, int64(c.TxID), c.Position, t.name, t.version)
	if err != nil {
		return fmt.Errorf("set checkpoint of %s v%d to %s: %w", t.name, t.version, c, err)
	}
	t.checkpoint = c
	return nil
}

func (t *projTx) Commit(context.Context) error {
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("commit %s v%d: %w", t.name, t.version, err)
	}
	t.committed = true
	t.db.projectionCommitted()
	return nil
}

func (t *projTx) Rollback(context.Context) error {
	if t.committed {
		return nil
	}
	if err := rollbackUnlessDone(t.tx); err != nil {
		return fmt.Errorf("rollback %s v%d: %w", t.name, t.version, err)
	}
	return nil
}
