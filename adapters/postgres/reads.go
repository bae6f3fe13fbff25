package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// readAcross runs fn with query rewritten for the serving versions of the
// projections it reads: each "{table}" becomes that table's versioned name.
// An Activate may drop a version's tables between the look-up and the read;
// the read then fails with undefined_table and is retried.
func (db *DB) readAcross(ctx context.Context, query string, names []string, fn func(q string) error) error {
	return db.retryStale(ctx, names, func(versions map[string]int) error {
		q := query
		for _, n := range names {
			for _, base := range readModels[n].tables {
				q = strings.ReplaceAll(q, "{"+base+"}", fmt.Sprintf("%s_v%d", base, versions[n]))
			}
		}
		return fn(q)
	})
}

// roomsQuery lists rooms as user $1 sees them; extra narrows the rows.
const roomsQuery = `SELECT r.id, r.name, r.kind, r.head, r.created_at,
		(SELECT count(*) FROM {room_members} m WHERE m.room = r.id),
		EXISTS (SELECT 1 FROM {room_members} m WHERE m.room = r.id AND m.user_id = $1),
		lr.seq,
		(SELECT count(*) FROM {history_messages} h
			WHERE h.room = r.id AND h.seq > lr.seq AND NOT h.deleted AND h.author_id <> $1)
	FROM {rooms} r
	CROSS JOIN LATERAL (SELECT coalesce(max(k.seq), 0) AS seq FROM {read_markers} k
		WHERE k.user_id = $1 AND k.room = r.id) lr `

var roomsSources = []string{"rooms", "history", "read_markers"}

func (db *DB) queryRooms(ctx context.Context, where string, args ...any) ([]projections.Room, error) {
	var out []projections.Room
	err := db.readAcross(ctx, roomsQuery+where, roomsSources, func(q string) error {
		rows, err := db.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (projections.Room, error) {
			var r projections.Room
			var created time.Time
			err := row.Scan(&r.ID, &r.Name, &r.Kind, &r.Head, &created, &r.Members, &r.Member, &r.LastRead, &r.Unread)
			r.CreatedAt = projections.Timestamp(created.UTC())
			return r, err
		})
		return err
	})
	return out, err
}

// RoomsFor lists the public rooms and every room user is a member of.
func (db *DB) RoomsFor(ctx context.Context, user uuid.UUID) ([]projections.Room, error) {
	rooms, err := db.queryRooms(ctx, `WHERE r.kind = 'public'
		OR EXISTS (SELECT 1 FROM {room_members} m WHERE m.room = r.id AND m.user_id = $1)
		ORDER BY r.name, r.id`, user)
	if err != nil {
		return nil, fmt.Errorf("rooms of %s: %w", user, err)
	}
	return rooms, nil
}

// Room returns one room as user sees it, or CodeNotFound.
func (db *DB) Room(ctx context.Context, id, user uuid.UUID) (projections.Room, error) {
	rooms, err := db.queryRooms(ctx, `WHERE r.id = $2`, user, id)
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
		FROM {room_members} m WHERE m.room = $1 ORDER BY m.username`, []string{"rooms", "presence"},
		func(q string) error {
			rows, err := db.pool.Query(ctx, q, room)
			if err != nil {
				return err
			}
			out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (projections.Member, error) {
				var m projections.Member
				return m, row.Scan(&m.ID, &m.Username, &m.Online)
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
		func(q string) error {
			rows, err := db.pool.Query(ctx, q)
			if err != nil {
				return err
			}
			out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Person, error) {
				var p Person
				var seen *time.Time
				err := row.Scan(&p.ID, &p.Username, &p.Online, &seen)
				if seen != nil {
					ts := projections.Timestamp(seen.UTC())
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
