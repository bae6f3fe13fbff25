package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Begin opens a transaction on the serving version of name. It holds the
// projection row FOR SHARE (so Activate waits) and the checkpoint row FOR
// UPDATE, so two runners never apply the same batch.
func (p *Projections) Begin(ctx context.Context, name string) (projections.Tx, error) {
	return p.begin(ctx, name, 0)
}

// BeginVersion opens a transaction on name@version, serving or not.
func (p *Projections) BeginVersion(ctx context.Context, name string, version int) (projections.Tx, error) {
	if version <= 0 {
		return nil, fmt.Errorf("begin %s: version %d: %w", name, version, projections.ErrNoProjection)
	}
	return p.begin(ctx, name, version)
}

// beginProjection locks name's projection row FOR SHARE and the checkpoint
// of version ($2, or the serving one when 0) FOR UPDATE, reading both.
const beginProjection = `SELECT p.serving_version, c.version, c.transaction_id, c.position
	FROM projections p JOIN projection_checkpoints c ON c.name = p.name
		AND c.version = CASE WHEN $2::int = 0 THEN p.serving_version ELSE $2::int END
	WHERE p.name = $1
	FOR SHARE OF p FOR UPDATE OF c`

// begin opens name@version, or the serving version when version is 0, in
// one round trip. Its commit does not wait for the disk (queueAsyncBegin):
// a crash that loses a read model's last commits loses their checkpoint
// with them, so the projection applies those events again from the log.
// Not waiting takes a disk flush off every batch between an append and
// its delivery.
func (p *Projections) begin(ctx context.Context, name string, version int) (projections.Tx, error) {
	conn, err := p.db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin %s: %w", name, err)
	}
	t := &projTx{db: p.db, conn: conn, name: name, pending: &pgx.Batch{}}
	var serving int
	var txID, pos int64
	b := &pgx.Batch{}
	queueAsyncBegin(b)
	b.Queue(beginProjection, name, version).QueryRow(func(row pgx.Row) error {
		return row.Scan(&serving, &t.version, &txID, &pos)
	})
	err = conn.SendBatch(ctx, b).Close()
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("projection %s v%d: %w", name, version, projections.ErrNoProjection)
	}
	if err != nil {
		// A begin cut short by shutdown (ctx canceled) leaves a connection
		// that cannot roll back either; that is not worth an error line.
		if rbErr := t.Rollback(context.WithoutCancel(ctx)); rbErr != nil && ctx.Err() == nil {
			p.db.log.Error("rollback", "projection", name, "err", rbErr)
		}
		return nil, fmt.Errorf("begin %s: %w", name, err)
	}
	t.building = t.version != serving
	t.checkpoint = domain.Cursor{TxID: uint64(txID), Position: pos}
	return t, nil
}

// projTx is a projections.Tx on one projection version. Writes that return
// nothing are queued (or held, see heldRows) and sent in one round trip
// before the next read or at commit, or sooner without waiting once many
// rows are held; a failing write therefore fails Commit (or a later
// write), and with it the batch.
type projTx struct {
	db         *DB
	conn       *pgxpool.Conn // in the transaction; nil once it ended
	name       string
	version    int
	checkpoint domain.Cursor // as read at Begin, then as set
	pending    *pgx.Batch
	held       []heldRows        // rows not queued yet, a set per table
	tables     map[string]string // base name → versioned name
	// inflight is a batch sent but not read back (see send); n is its
	// number of statements.
	inflight  pgx.BatchResults
	inflightN int
	// building is set on a version that does not serve (a rebuild): its
	// held rows go by COPY (see copy.go), whose outcome copying delivers.
	building bool
	copying  chan error
}

var _ projections.Tx = (*projTx)(nil)

func (t *projTx) Version() int { return t.version }

// Checkpoint returns the version's checkpoint (read and locked at Begin,
// so it cannot have moved since).
func (t *projTx) Checkpoint(context.Context) (domain.Cursor, error) { return t.checkpoint, nil }

func (t *projTx) SetCheckpoint(_ context.Context, c domain.Cursor) error {
	t.pending.Queue(`UPDATE projection_checkpoints SET transaction_id = $1, position = $2, updated_at = now()
		WHERE name = $3 AND version = $4`, int64(c.TxID), c.Position, t.name, t.version)
	t.checkpoint = c
	return nil
}

// queue adds a write on this version's tables ("{}" in query, replaced in
// turn by each of tables' versioned names), after the rows held for them.
func (t *projTx) queue(query string, tables []string, args ...any) error {
	q, err := t.sqlFor(query, tables...)
	if err != nil {
		return err
	}
	for _, base := range tables {
		if err := t.release(base); err != nil {
			return err
		}
	}
	t.pending.Queue(q, args...)
	return nil
}

// sendEvery is how many rows a held set gathers before the transaction
// sends what it holds without waiting: PostgreSQL then inserts them while
// the fold prepares the next rows, instead of the two taking turns.
const sendEvery = 512

// heldRow is called after a row was added to a held set of n rows.
func (t *projTx) heldRow(ctx context.Context, n int) error {
	if n < sendEvery || (t.building && n < copyEvery) {
		return nil
	}
	return t.send(ctx)
}

// send waits for the batch in flight, then sends the held rows and the
// queued writes without reading their results.
func (t *projTx) send(ctx context.Context) error {
	if err := t.wait(); err != nil {
		return err
	}
	if t.building {
		var copies []copyRows
		for _, h := range t.held {
			if c, ok := h.(copyRows); ok && c.len() > 0 {
				copies = append(copies, c.detach())
			}
		}
		if len(copies) > 0 {
			return t.sendCopies(ctx, copies)
		}
	}
	if err := t.release(""); err != nil {
		return err
	}
	if t.pending.Len() == 0 {
		return nil
	}
	b := t.pending
	t.pending = &pgx.Batch{}
	t.inflight, t.inflightN = t.conn.SendBatch(ctx, b), b.Len()
	return nil
}

// wait reads back the batch in flight, if any, or the outcome of the
// copies running.
func (t *projTx) wait() error {
	if t.copying != nil {
		err := <-t.copying
		t.copying = nil
		return err
	}
	if t.inflight == nil {
		return nil
	}
	res, n := t.inflight, t.inflightN
	t.inflight, t.inflightN = nil, 0
	var errs []error
	for range n {
		if _, err := res.Exec(); err != nil {
			errs = append(errs, err)
			break
		}
	}
	errs = append(errs, res.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("write %s v%d: %w", t.name, t.version, err)
	}
	return nil
}

// flush sends the held rows and the queued writes and waits for them.
func (t *projTx) flush(ctx context.Context) error {
	if err := t.send(ctx); err != nil {
		return err
	}
	return t.wait()
}

// Commit sends what is held and queued with COMMIT, in one round trip
// (a version being built sends its copies first).
func (t *projTx) Commit(ctx context.Context) error {
	if t.conn == nil {
		return fmt.Errorf("commit %s v%d: transaction already ended", t.name, t.version)
	}
	if t.building {
		if err := t.flush(ctx); err != nil {
			return errors.Join(err, t.Rollback(ctx))
		}
	}
	if err := t.wait(); err != nil {
		return errors.Join(err, t.Rollback(ctx))
	}
	if err := t.release(""); err != nil {
		return errors.Join(err, t.Rollback(ctx))
	}
	b := t.pending
	t.pending = &pgx.Batch{}
	b.Queue(`COMMIT`)
	if err := readThroughCommit(t.conn.SendBatch(ctx, b), b.Len()); err != nil {
		return errors.Join(fmt.Errorf("commit %s v%d: %w", t.name, t.version, err), t.Rollback(ctx))
	}
	t.conn.Release()
	t.conn = nil
	t.db.waits.wake()
	return nil
}

// Rollback ends the transaction; after Commit it does nothing. A
// connection that cannot roll back is not reused (the pool drops a
// connection released inside a transaction).
func (t *projTx) Rollback(ctx context.Context) error {
	if t.conn == nil {
		return nil
	}
	// The connection is busy until the batch in flight is read back; its
	// error, if any, is moot.
	_ = t.wait()
	_, err := t.conn.Exec(ctx, `ROLLBACK`)
	t.conn.Release()
	t.conn = nil
	if err != nil {
		return fmt.Errorf("rollback %s v%d: %w", t.name, t.version, err)
	}
	return nil
}
