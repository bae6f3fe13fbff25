package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
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
	var id string
	var hash []byte
	err := db.read.QueryRowContext(ctx, `SELECT user_id, hash FROM passwords WHERE username = ?`, username).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, nil, domain.Errorf(domain.CodeNotFound, "no such user")
	}
	if err != nil {
		return uuid.Nil, nil, fmt.Errorf("credentials of %q: %w", username, err)
	}
	uid, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, nil, fmt.Errorf("credentials of %q: user id %q: %w", username, id, err)
	}
	return uid, hash, nil
}

// readServing runs fn in one read transaction (one WAL snapshot) with the
// serving version of projection name, so an Activate that drops the old
// tables cannot land between looking the version up and reading its tables.
func (db *DB) readServing(ctx context.Context, name string, fn func(tx *sql.Tx, version int) error) error {
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read of %s: %w", name, err)
	}
	defer func() { _ = tx.Rollback() }() // read-only: nothing to keep or lose
	version, err := servingVersion(ctx, tx, name)
	if err != nil {
		return err
	}
	return fn(tx, version)
}

// User returns a user of the approval read model, or CodeNotFound.
func (db *DB) User(ctx context.Context, id uuid.UUID) (projections.User, error) {
	var users []projections.User
	err := db.readServing(ctx, "approval", func(tx *sql.Tx, v int) error {
		var err error
		users, err = queryUsers(ctx, tx, fmt.Sprintf(`SELECT id, username, status, created_at FROM approval_users_v%d
			WHERE id = ?`, v), v, id.String())
		return err
	})
	if err != nil {
		return projections.User{}, fmt.Errorf("user %s: %w", id, err)
	}
	if len(users) == 0 {
		return projections.User{}, domain.Errorf(domain.CodeNotFound, "no such user")
	}
	return users[0], nil
}

// SessionUser returns the session stored under a token hash with its user
// from the serving approval version, or CodeNotFound when either is
// missing. Authentication runs it on every request and socket upgrade, so
// it reads session, user and roles in one statement (a row per role).
func (db *DB) SessionUser(ctx context.Context, hash []byte) (Session, projections.User, error) {
	var s Session
	var u projections.User
	var found bool
	err := db.readServing(ctx, "approval", func(tx *sql.Tx, v int) error {
		rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT s.session_id, s.expires_at, s.revoked_at IS NOT NULL,
				u.id, u.username, u.status, u.created_at, r.role
			FROM sessions s JOIN approval_users_v%[1]d u ON u.id = s.user_id
			LEFT JOIN approval_roles_v%[1]d r ON r.user_id = u.id
			WHERE s.token_hash = ? ORDER BY r.role`, v), hash)
		if err != nil {
			return err
		}
		s, u, found, err = scanSessionUser(rows)
		return err
	})
	if err != nil {
		return Session{}, projections.User{}, fmt.Errorf("session and user by token: %w", err)
	}
	if !found {
		return Session{}, projections.User{}, domain.Errorf(domain.CodeNotFound, "no such session")
	}
	return s, u, nil
}

// scanSessionUser reads SessionUser's rows: the session and user repeat on
// every row, each row adding one role (NULL when the user has none).
func scanSessionUser(rows *sql.Rows) (s Session, u projections.User, found bool, err error) {
	defer rows.Close()
	u.Roles = []string{}
	for rows.Next() {
		var sid, uid string
		var expires, created int64
		var role sql.NullString
		if err := rows.Scan(&sid, &expires, &s.Revoked, &uid, &u.Username, &u.Status, &created, &role); err != nil {
			return s, u, false, err
		}
		if role.Valid {
			u.Roles = append(u.Roles, role.String)
		}
		if found {
			continue
		}
		found = true
		if s.ID, err = uuid.Parse(sid); err != nil {
			return s, u, false, fmt.Errorf("session id %q: %w", sid, err)
		}
		if u.ID, err = uuid.Parse(uid); err != nil {
			return s, u, false, fmt.Errorf("session %s user id %q: %w", sid, uid, err)
		}
		s.UserID, s.ExpiresAt = u.ID, time.UnixMilli(expires).UTC()
		u.CreatedAt = projections.Timestamp(time.UnixMilli(created).UTC())
	}
	return s, u, found, rows.Err()
}

// Users lists users with status ("" for all), oldest first.
func (db *DB) Users(ctx context.Context, status domain.UserStatus) ([]projections.User, error) {
	var users []projections.User
	err := db.readServing(ctx, "approval", func(tx *sql.Tx, v int) error {
		var err error
		users, err = queryUsers(ctx, tx, fmt.Sprintf(`SELECT id, username, status, created_at FROM approval_users_v%d
			WHERE ?1 = '' OR status = ?1 ORDER BY created_at, username`, v), v, string(status))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list users %q: %w", status, err)
	}
	return users, nil
}

// queryUsers reads users and then their roles from version v's tables.
func queryUsers(ctx context.Context, tx *sql.Tx, query string, v int, args ...any) ([]projections.User, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []projections.User
	for rows.Next() {
		var u projections.User
		var id string
		var created int64
		if err := rows.Scan(&id, &u.Username, &u.Status, &created); err != nil {
			return nil, err
		}
		if u.ID, err = uuid.Parse(id); err != nil {
			return nil, fmt.Errorf("user id %q: %w", id, err)
		}
		u.CreatedAt = projections.Timestamp(time.UnixMilli(created).UTC())
		u.Roles = []string{}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range users {
		if users[i].Roles, err = userRoles(ctx, tx, v, users[i].ID); err != nil {
			return nil, err
		}
	}
	return users, nil
}

func userRoles(ctx context.Context, tx *sql.Tx, v int, id uuid.UUID) ([]string, error) {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT role FROM approval_roles_v%d WHERE user_id = ? ORDER BY role`, v), id.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	roles := []string{}
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		roles = append(roles, r)
	}
	return roles, rows.Err()
}

// DirectRoom returns the direct room of two users, or CodeNotFound.
func (db *DB) DirectRoom(ctx context.Context, a, b uuid.UUID) (uuid.UUID, error) {
	x, y := a.String(), b.String()
	if y < x {
		x, y = y, x // stored in this order by InsertRoom
	}
	var id string
	err := db.readServing(ctx, "rooms", func(tx *sql.Tx, v int) error {
		return tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT id FROM rooms_v%d WHERE direct_a = ? AND direct_b = ?
			ORDER BY created_at LIMIT 1`, v), x, y).Scan(&id)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, domain.Errorf(domain.CodeNotFound, "no direct room")
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("direct room of %s and %s: %w", a, b, err)
	}
	room, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("direct room id %q: %w", id, err)
	}
	return room, nil
}
