package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// readAcross runs fn in one read transaction (one WAL snapshot) with query
// rewritten for the serving versions of the projections it reads: each
// "{table}" becomes that table's versioned name. Looking the versions up
// in the same snapshot as the read means an Activate that drops old tables
// cannot land in between, so unlike PostgreSQL there is nothing to retry.
func (db *DB) readAcross(ctx context.Context, query string, names []string, fn func(tx *sql.Tx, q string) error) error {
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read of %v: %w", names, err)
	}
	defer func() { _ = tx.Rollback() }() // read-only: nothing to keep or lose
	for _, name := range names {
		v, err := servingVersion(ctx, tx, name)
		if err != nil {
			return err
		}
		for _, base := range readModels[name].tables {
			query = strings.ReplaceAll(query, "{"+base+"}", fmt.Sprintf("%s_v%d", base, v))
		}
	}
	return fn(tx, query)
}

// collect scans every row of query with scan, returning an empty (not nil)
// slice when there are none, as the PostgreSQL store does.
func collect[T any](ctx context.Context, tx *sql.Tx, query string, args []any, scan func(*sql.Rows) (T, error)) ([]T, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// roomsQuery lists rooms as user ?1 sees them; a WHERE clause narrows the
// rows. read_markers has one row per (user, room), so the join adds none.
const roomsQuery = `SELECT r.id, r.name, r.kind, r.head, r.created_at,
		(SELECT count(*) FROM {room_members} m WHERE m.room = r.id),
		EXISTS (SELECT 1 FROM {room_members} m WHERE m.room = r.id AND m.user_id = ?1),
		coalesce(k.seq, 0),
		(SELECT count(*) FROM {history_messages} h
			WHERE h.room = r.id AND h.seq > coalesce(k.seq, 0) AND NOT h.deleted AND h.author_id <> ?1)
	FROM {rooms} r
	LEFT JOIN {read_markers} k ON k.user_id = ?1 AND k.room = r.id `

var roomsSources = []string{"rooms", "history", "read_markers"}

func (db *DB) queryRooms(ctx context.Context, where string, args ...any) ([]projections.Room, error) {
	var out []projections.Room
	err := db.readAcross(ctx, roomsQuery+where, roomsSources, func(tx *sql.Tx, q string) error {
		var err error
		out, err = collect(ctx, tx, q, args, func(rows *sql.Rows) (projections.Room, error) {
			var r projections.Room
			var created int64
			err := rows.Scan(&r.ID, &r.Name, &r.Kind, &r.Head, &created, &r.Members, &r.Member, &r.LastRead, &r.Unread)
			r.CreatedAt = projections.Timestamp(time.UnixMilli(created).UTC())
			return r, err
		})
		return err
	})
	return out, err
}

// RoomsFor lists the public rooms and every room user is a member of.
func (db *DB) RoomsFor(ctx context.Context, user uuid.UUID) ([]projections.Room, error) {
	rooms, err := db.queryRooms(ctx, `WHERE r.kind = 'public'
		OR EXISTS (SELECT 1 FROM {room_members} m WHERE m.room = r.id AND m.user_id = ?1)
		ORDER BY r.name, r.id`, user.String())
	if err != nil {
		return nil, fmt.Errorf("rooms of %s: %w", user, err)
	}
	return rooms, nil
}

// Room returns one room as user sees it, or CodeNotFound.
func (db *DB) Room(ctx context.Context, id, user uuid.UUID) (projections.Room, error) {
	rooms, err := db.queryRooms(ctx, `WHERE r.id = ?2`, user.String(), id.String())
	if err != nil {
		return projections.Room{}, fmt.Errorf("room %s: %w", id, err)
	}
	if len(rooms) == 0 {
		return projections.Room{}, domain.Errorf(domain.CodeNotFound, "no such room")
	}
	return rooms[0], nil
}

// Members lists a room's members with their presence, by username.
func (db *DB) Members(ctx context.Context, room uuid.UUID) ([]projections.Member, error) {
	var out []projections.Member
	err := db.readAcross(ctx, `SELECT m.user_id, m.username,
			EXISTS (SELECT 1 FROM {presence_nodes} p WHERE p.user_id = m.user_id)
		FROM {room_members} m WHERE m.room = ? ORDER BY m.username`, []string{"rooms", "presence"},
		func(tx *sql.Tx, q string) error {
			var err error
			out, err = collect(ctx, tx, q, []any{room.String()}, func(rows *sql.Rows) (projections.Member, error) {
				var m projections.Member
				return m, rows.Scan(&m.ID, &m.Username, &m.Online)
			})
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", room, err)
	}
	return out, nil
}

// Directory lists approved users with their presence, by username.
func (db *DB) Directory(ctx context.Context) ([]Person, error) {
	var out []Person
	err := db.readAcross(ctx, `SELECT u.id, u.username,
			EXISTS (SELECT 1 FROM {presence_nodes} p WHERE p.user_id = u.id), s.last_seen
		FROM {approval_users} u LEFT JOIN {presence_users} s ON s.user_id = u.id
		WHERE u.status = 'approved' ORDER BY u.username`, []string{"approval", "presence"},
		func(tx *sql.Tx, q string) error {
			var err error
			out, err = collect(ctx, tx, q, nil, func(rows *sql.Rows) (Person, error) {
				var p Person
				var seen sql.NullInt64
				err := rows.Scan(&p.ID, &p.Username, &p.Online, &seen)
				if seen.Valid {
					ts := projections.Timestamp(time.UnixMilli(seen.Int64).UTC())
					p.LastSeen = &ts
				}
				return p, err
			})
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return out, nil
}

// Person is one entry of the user directory. Its fields match
// httpapi.Person, so the wiring converts one to the other directly.
type Person struct {
	ID       uuid.UUID
	Username string
	Online   bool
	LastSeen *projections.Timestamp
}
