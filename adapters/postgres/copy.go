package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A version being built beside the serving one (a rebuild) sends its held
// rows with COPY instead of INSERT ... SELECT FROM unnest ... ON CONFLICT
// DO NOTHING: COPY fills heap pages several rows at a time and skips the
// speculative insertion ON CONFLICT makes per row, about a third of
// PostgreSQL's work on those rows. COPY has no ON CONFLICT, so each send's
// copies run under a savepoint; a unique violation (a message id posted
// twice, say) rolls back to it and sends the same rows with the INSERT,
// which keeps the first of two conflicting rows as before. Conflicts are
// rare, so the savepoints stay few (a subtransaction per send, far below
// the 64 a transaction caches before other sessions' snapshots slow down).

// uniqueViolation is PostgreSQL's SQLSTATE unique_violation.
const uniqueViolation = "23505"

// copyRows is a held set a version being built can COPY.
type copyRows interface {
	heldRows
	// detach moves the rows into a set of their own, emptying this one.
	detach() copyRows
	// copyColumns lists the columns appendCopy writes, in its order.
	copyColumns() string
	// appendCopy writes the rows as tuples of binary COPY data.
	appendCopy(w *copyWriter)
}

// copyEvery is how many rows a held set of a version being built gathers
// before the transaction sends: a COPY costs more round trips than an
// INSERT, and PostgreSQL sets up each COPY's insert buffers anew, so sets
// are larger than sendEvery, and few enough per transaction to keep the
// savepoints few. 4096 rebuilt faster than 1024, 2048 and 8192.
const copyEvery = 4096

// sendCopies starts the pending batch and the copies of the held rows in
// the background, so PostgreSQL stores them while the fold prepares the
// next rows; wait collects the outcome. The caller has waited for what
// was in flight, so the connection is free.
func (t *projTx) sendCopies(ctx context.Context, copies []copyRows) error {
	if err := t.release(""); err != nil { // held sets that do not copy
		return err
	}
	b := t.pending
	t.pending = &pgx.Batch{}
	b.Queue(`SAVEPOINT held_copy`)
	names := make([]string, len(copies))
	for i, c := range copies {
		name, err := t.tableName(c.table())
		if err != nil {
			return err
		}
		names[i] = name
	}
	done := make(chan error, 1)
	t.copying = done
	go func() { done <- t.runCopies(ctx, b, copies, names) }()
	return nil
}

// runCopies sends b (ending in the savepoint), then COPYs each set into
// its table, falling back to INSERT on a unique violation.
func (t *projTx) runCopies(ctx context.Context, b *pgx.Batch, copies []copyRows, names []string) error {
	if err := t.conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write %s v%d: %w", t.name, t.version, err)
	}
	err := copyAll(ctx, t.conn.Conn().PgConn(), copies, names)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
		err = t.insertInstead(ctx, copies, names)
	}
	if err != nil {
		return fmt.Errorf("copy into %s v%d: %w", t.name, t.version, err)
	}
	if _, err := t.conn.Exec(ctx, `RELEASE SAVEPOINT held_copy`); err != nil {
		return fmt.Errorf("copy into %s v%d: %w", t.name, t.version, err)
	}
	return nil
}

// insertInstead rolls the failed copies back and sends their rows with
// the INSERTs of heldRows, which skip conflicting rows. The rollback goes
// first on its own: the batch prepares its statements, which an aborted
// transaction refuses.
func (t *projTx) insertInstead(ctx context.Context, copies []copyRows, names []string) error {
	if _, err := t.conn.Exec(ctx, `ROLLBACK TO SAVEPOINT held_copy`); err != nil {
		return err
	}
	b := &pgx.Batch{}
	for i, c := range copies {
		sql, args := c.statement(names[i])
		b.Queue(sql, args...)
	}
	return t.conn.SendBatch(ctx, b).Close()
}

// copyWriters keeps COPY buffers from one send to the next: a send of
// 4,096 history rows is a few MB, and growing it anew every time was a
// quarter of the bytes a rebuild allocated.
var copyWriters = sync.Pool{New: func() any { return new(copyWriter) }}

func copyAll(ctx context.Context, conn *pgconn.PgConn, copies []copyRows, names []string) error {
	w := copyWriters.Get().(*copyWriter)
	defer copyWriters.Put(w)
	for i, c := range copies {
		w.reset()
		c.appendCopy(w)
		w.end()
		sql := `COPY ` + names[i] + ` (` + c.copyColumns() + `) FROM STDIN WITH (FORMAT binary)`
		if _, err := conn.CopyFrom(ctx, bytes.NewReader(w.buf), sql); err != nil {
			return err
		}
	}
	return nil
}

// copyWriter encodes PostgreSQL's binary COPY format: a header, then per
// tuple its field count and each field as a length and its binary value.
type copyWriter struct {
	buf    []byte
	search tokenizer
}

var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

func (w *copyWriter) reset()           { w.buf = append(w.buf[:0], copyHeader...) }
func (w *copyWriter) end()             { w.buf = binary.BigEndian.AppendUint16(w.buf, math.MaxUint16) }
func (w *copyWriter) tuple(fields int) { w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(fields)) }
func (w *copyWriter) null()            { w.buf = binary.BigEndian.AppendUint32(w.buf, math.MaxUint32) }
func (w *copyWriter) uuid(u [16]byte)  { w.field(16); w.buf = append(w.buf, u[:]...) }
func (w *copyWriter) int8(n int64) {
	w.field(8)
	w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(n))
}
func (w *copyWriter) bytea(b []byte) { w.field(len(b)); w.buf = append(w.buf, b...) }
func (w *copyWriter) text(s string)  { w.field(len(s)); w.buf = append(w.buf, s...) }
func (w *copyWriter) field(n int)    { w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(n)) }

// tsvector writes text's search vector; its length is filled in after.
func (w *copyWriter) tsvector(text string) {
	at := len(w.buf)
	w.field(0)
	w.buf = appendTSVector(w.buf, w.search.lexemes(text))
	binary.BigEndian.PutUint32(w.buf[at:], uint32(len(w.buf)-at-4))
}

func (w *copyWriter) timestamptz(t time.Time) {
	w.int8(t.UnixMicro() - pgEpochMicros)
}

func (w *copyWriter) bool(b bool) {
	w.field(1)
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}
