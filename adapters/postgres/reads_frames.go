package postgres

import (
	"context"
	"fmt"

	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// EventsAfter returns up to limit stored frames of room with seq > after,
// oldest first: what a resuming socket missed.
func (db *DB) EventsAfter(ctx context.Context, room uuid.UUID, after int64, limit int) ([]projections.RoomFrame, error) {
	var out []projections.RoomFrame
	err := db.readAcross(ctx, `SELECT seq, frame FROM {history_events}
		WHERE room = $1 AND seq > $2 ORDER BY seq LIMIT $3`, []string{"history"},
		func(q string) error {
			rows, err := db.pool.Query(ctx, q, room, after, limit)
			if err != nil {
				return err
			}
			out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (projections.RoomFrame, error) {
				var f projections.RoomFrame
				return f, row.Scan(&f.Seq, &f.Frame)
			})
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("events of %s after %d: %w", room, after, err)
	}
	return out, nil
}

// OnlineNodes lists the nodes the presence read model has users on; the
// lease reaper checks each one still holds its lease.
func (db *DB) OnlineNodes(ctx context.Context) ([]string, error) {
	var out []string
	err := db.readAcross(ctx, `SELECT DISTINCT node FROM {presence_nodes}`, []string{"presence"},
		func(q string) error {
			rows, err := db.pool.Query(ctx, q)
			if err != nil {
				return err
			}
			out, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("online nodes: %w", err)
	}
	return out, nil
}
