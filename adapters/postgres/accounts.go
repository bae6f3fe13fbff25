package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Session is a log-in as the sessions table keeps it. Its fields match
// httpapi.Session, so the wiring converts one to the other directly.
type Session struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	ExpiresAt time.Time
	Revoked   bool
}

// Credentials returns the user id and password hash stored for username,
// or CodeNotFound. The row is written with the registration, so it is
// current the moment registration returns.
func (db *DB) Credentials(ctx context.Context, username string) (uuid.UUID, []byte, error) {
	var id uuid.UUID
	var hash []byte
	err := db.pool.QueryRow(ctx, `SELECT user_id, hash FROM passwords WHERE username = $1`, username).Scan(&id, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, nil, domain.Errorf(domain.CodeNotFound, "no such user")
	}
	if err != nil {
		return uuid.Nil, nil, fmt.Errorf("credentials of %q: %w", username, err)
	}
	return id, hash, nil
}

// SessionUser returns the session stored under a token hash with its user
// from the serving approval version, or CodeNotFound when either is
// missing. Authentication runs it on every request and socket upgrade, so
// it is one query (the version comes from the serving cache) rather than a
// session read followed by a user read.
func (db *DB) SessionUser(ctx context.Context, hash []byte) (Session, projections.User, error) {
	var s Session
	var u projections.User
	var created time.Time
	err := db.readServing(ctx, "approval", func(v int) error {
		q, err := formatTables(`SELECT s.session_id, s.expires_at, s.revoked_at IS NOT NULL,
				u.id, u.username, u.status, u.created_at,
				ARRAY(SELECT r.role FROM {} r WHERE r.user_id = u.id ORDER BY r.role)
			FROM sessions s JOIN {} u ON u.id = s.user_id
			WHERE s.token_hash = $1`, "approval", v, "approval_roles", "approval_users")
		if err != nil {
			return err
		}
		return db.pool.QueryRow(ctx, q, hash).Scan(&s.ID, &s.ExpiresAt, &s.Revoked,
			&u.ID, &u.Username, &u.Status, &created, &u.Roles)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, projections.User{}, domain.Errorf(domain.CodeNotFound, "no such session")
	}
	if err != nil {
		return Session{}, projections.User{}, fmt.Errorf("session and user by token: %w", err)
	}
	s.UserID, s.ExpiresAt, u.CreatedAt = u.ID, s.ExpiresAt.UTC(), projections.Timestamp(created.UTC())
	return s, u, nil
}

// readServing runs fn with the serving version of projection name. An
// Activate may drop that version's tables between the look-up and the
// read; the read then fails with undefined_table and is retried on the new
// version.
func (db *DB) readServing(ctx context.Context, name string, fn func(version int) error) error {
	return db.retryStale(ctx, []string{name}, func(versions map[string]int) error {
		return fn(versions[name])
	})
}

// User returns a user of the approval read model, or CodeNotFound.
func (db *DB) User(ctx context.Context, id uuid.UUID) (projections.User, error) {
	users, err := db.queryUsers(ctx, `WHERE u.id = $1`, id)
	if err != nil {
		return projections.User{}, fmt.Errorf("user %s: %w", id, err)
	}
	if len(users) == 0 {
		return projections.User{}, domain.Errorf(domain.CodeNotFound, "no such user")
	}
	return users[0], nil
}

// Users lists users with status ("" for all), oldest first.
func (db *DB) Users(ctx context.Context, status domain.UserStatus) ([]projections.User, error) {
	users, err := db.queryUsers(ctx, `WHERE $1 = '' OR u.status = $1`, string(status))
	if err != nil {
		return nil, fmt.Errorf("list users %q: %w", status, err)
	}
	return users, nil
}

// queryUsers reads users matching where, with their roles, oldest first.
func (db *DB) queryUsers(ctx context.Context, where string, args ...any) ([]projections.User, error) {
	var users []projections.User
	err := db.readServing(ctx, "approval", func(v int) error {
		q, err := formatTables(`SELECT u.id, u.username, u.status, u.created_at,
				coalesce(array_agg(r.role ORDER BY r.role) FILTER (WHERE r.role IS NOT NULL), ARRAY[]::text[])
			FROM {} u LEFT JOIN {} r ON r.user_id = u.id `+where+`
			GROUP BY u.id ORDER BY u.created_at, u.username`, "approval", v, "approval_users", "approval_roles")
		if err != nil {
			return err
		}
		rows, err := db.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		users, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (projections.User, error) {
			var u projections.User
			var created time.Time
			err := row.Scan(&u.ID, &u.Username, &u.Status, &created, &u.Roles)
			u.CreatedAt = projections.Timestamp(created.UTC())
			return u, err
		})
		return err
	})
	return users, err
}

// DirectRoom returns the direct room of two users, or CodeNotFound.
func (db *DB) DirectRoom(ctx context.Context, a, b uuid.UUID) (uuid.UUID, error) {
	if b.String() < a.String() {
		a, b = b, a // stored in this order by InsertRoom
	}
	var id uuid.UUID
	err := db.readServing(ctx, "rooms", func(v int) error {
		q, err := formatTables(`SELECT id FROM {} WHERE direct_a = $1 AND direct_b = $2
			ORDER BY created_at LIMIT 1`, "rooms", v, "rooms")
		if err != nil {
			return err
		}
		return db.pool.QueryRow(ctx, q, a, b).Scan(&id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, domain.Errorf(domain.CodeNotFound, "no direct room")
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("direct room of %s and %s: %w", a, b, err)
	}
	return id, nil
}
