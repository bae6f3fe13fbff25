package platform

import (
	"context"
	"log/slog"

	"github.com/chatlog/chat/adapters/httpapi"
	"github.com/chatlog/chat/adapters/postgres"
	"github.com/chatlog/chat/adapters/sqlite"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// The adapters keep their own Session, Person and Page types so they never
// import httpapi; these wrappers convert them, field for field.

func openPostgres(ctx context.Context, url string, log *slog.Logger) (*postgres.DB, error) {
	return postgres.Open(ctx, postgres.Config{URL: url, Logger: log})
}

type postgresReads struct{ *postgres.DB }

func (r postgresReads) SessionUser(ctx context.Context, hash []byte) (httpapi.Session, projections.User, error) {
	s, u, err := r.DB.SessionUser(ctx, hash)
	return httpapi.Session(s), u, err
}

func (r postgresReads) Directory(ctx context.Context) ([]httpapi.Person, error) {
	people, err := r.DB.Directory(ctx)
	return convertPeople(people), err
}

func (r postgresReads) Messages(ctx context.Context, room uuid.UUID, p httpapi.Page) ([]projections.Message, bool, error) {
	return r.DB.Messages(ctx, room, postgres.Page(p))
}

func openSQLite(ctx context.Context, dir string, log *slog.Logger) (*sqlite.DB, error) {
	return sqlite.Open(ctx, sqlite.Config{Dir: dir, Logger: log})
}

type sqliteReads struct{ *sqlite.DB }

func (r sqliteReads) SessionUser(ctx context.Context, hash []byte) (httpapi.Session, projections.User, error) {
	s, u, err := r.DB.SessionUser(ctx, hash)
	return httpapi.Session(s), u, err
}

func (r sqliteReads) Directory(ctx context.Context) ([]httpapi.Person, error) {
	people, err := r.DB.Directory(ctx)
	return convertPeople(people), err
}

func (r sqliteReads) Messages(ctx context.Context, room uuid.UUID, p httpapi.Page) ([]projections.Message, bool, error) {
	return r.DB.Messages(ctx, room, sqlite.Page(p))
}

func convertPeople[P ~struct {
	ID       uuid.UUID
	Username string
	Online   bool
	LastSeen *projections.Timestamp
}](people []P) []httpapi.Person {
	out := make([]httpapi.Person, len(people))
	for i, p := range people {
		out[i] = httpapi.Person(p)
	}
	return out
}
