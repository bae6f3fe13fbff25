package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// heldRows is a run of writes to one table that a projection transaction
// holds back and sends as one statement: one INSERT ... SELECT FROM
// unnest(...) costs PostgreSQL and the driver far less than a statement
// per row. Writes to different tables commute (no triggers, no foreign
// keys), so order only matters per table: projTx sends a table's held rows
// before queuing any other statement on that table, and all of them before
// a read or the commit.
type heldRows interface {
	// table is the base name of the table the rows go to.
	table() string
	len() int
	// statement returns the rows' statement on the versioned table and its
	// arguments, and empties the set.
	statement(versioned string) (sql string, args []any)
}

// hold returns the transaction's held set for base, creating it with
// create on first use; it fails if this projection does not own base.
func hold[T heldRows](t *projTx, base string, create func() T) (T, error) {
	for _, h := range t.held {
		if h.table() == base {
			if set, ok := h.(T); ok {
				return set, nil
			}
		}
	}
	var zero T
	if _, err := t.tableName(base); err != nil {
		return zero, err
	}
	set := create()
	t.held = append(t.held, set)
	return set, nil
}

// release queues the held rows of table base (every table when base is
// ""), in the order the sets were created.
func (t *projTx) release(base string) error {
	for _, h := range t.held {
		if h.len() == 0 || (base != "" && h.table() != base) {
			continue
		}
		name, err := t.tableName(h.table())
		if err != nil {
			return err
		}
		sql, args := h.statement(name)
		t.pending.Queue(sql, args...)
	}
	return nil
}

// tableName returns base's versioned name, remembered per transaction.
func (t *projTx) tableName(base string) (string, error) {
	if name, ok := t.tables[base]; ok {
		return name, nil
	}
	name, err := versionedTable(t.name, t.version, base)
	if err != nil {
		return "", err
	}
	if t.tables == nil {
		t.tables = map[string]string{}
	}
	t.tables[base] = name
	return name, nil
}

// column is one column of held rows, encoded as a PostgreSQL array. Index
// hands out pointers, so pgx encodes elements without boxing each one; the
// element types below implement pgx's valuer interfaces for that.
type column[T any] []T

func (c column[T]) Dimensions() []pgtype.ArrayDimension {
	return []pgtype.ArrayDimension{{Length: int32(len(c)), LowerBound: 1}}
}

func (c column[T]) Index(i int) any { return &c[i] }
func (c column[T]) IndexType() any  { return new(T) }

// Element types of columns, each encoded in binary by pgx straight from
// its value.
type (
	uuidElem  [16]byte
	textElem  string
	int8Elem  int64
	timeElem  time.Time
	byteaElem []byte
	boolElem  bool
	// nullTimeElem is a timestamptz that may be NULL (ok false).
	nullTimeElem struct {
		t  time.Time
		ok bool
	}
)

func (u uuidElem) UUIDValue() (pgtype.UUID, error) { return pgtype.UUID{Bytes: u, Valid: true}, nil }
func (s textElem) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: string(s), Valid: true}, nil
}
func (n int8Elem) Int64Value() (pgtype.Int8, error) {
	return pgtype.Int8{Int64: int64(n), Valid: true}, nil
}
func (b byteaElem) BytesValue() ([]byte, error) { return b, nil }

func (b boolElem) BoolValue() (pgtype.Bool, error) {
	return pgtype.Bool{Bool: bool(b), Valid: true}, nil
}

func (n nullTimeElem) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: n.t, Valid: n.ok}, nil
}

func (t timeElem) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: time.Time(t), Valid: true}, nil
}

// unnestInsert renders INSERT INTO table (cols) SELECT * FROM unnest of
// one array per column (types: their PostgreSQL element types), then
// suffix (an ON CONFLICT clause). unnest yields the rows in array order, so
// within one statement the first of two conflicting rows wins, as it would
// one statement per row.
func unnestInsert(table, cols string, types []string, suffix string) string {
	params := ""
	for i, typ := range types {
		if i > 0 {
			params += ", "
		}
		params += fmt.Sprintf("$%d::%s[]", i+1, typ)
	}
	return fmt.Sprintf("INSERT INTO %s (%s) SELECT * FROM unnest(%s) %s", table, cols, params, suffix)
}
