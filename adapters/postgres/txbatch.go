package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Transactions on the write paths drive BEGIN and COMMIT themselves in
// pipelined batches, so that they share round trips with the statements
// around them.

// queueAsyncBegin queues BEGIN for a transaction whose commit does not
// wait for the WAL to reach the disk. Only derived state may: read
// models and the relay's checkpoint, which a crash rolls back to an
// earlier point the log is replayed from. The log's appends stay
// synchronous.
func queueAsyncBegin(b *pgx.Batch) {
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit = off`)
}

// readThroughCommit reads the n results of a batch ending in COMMIT and
// closes it. A statement that failed, or a COMMIT that rolled back (the
// transaction had aborted), is an error.
func readThroughCommit(res pgx.BatchResults, n int) error {
	var tag pgconn.CommandTag
	var err error
	for range n {
		if tag, err = res.Exec(); err != nil {
			break
		}
	}
	err = errors.Join(err, res.Close())
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("transaction was rolled back (%s)", tag)
	}
	return err
}
