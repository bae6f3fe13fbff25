package postgres

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

func TestSearchLexemes(t *testing.T) {
	long := strings.Repeat("x", maxLexemeBytes+1)
	for _, c := range []struct {
		text string
		want string // lexeme:positions, in tsvector order
	}{
		{"", ""},
		{"  ,.!? ", ""},
		{"Hello, hello HELLO", "hello:1,2,3"},
		{"the fox and the dog", "and:3 dog:5 fox:2 the:1,4"},
		{"don't e-mail me@example.com", "com:7 don:1 e:3 example:6 mail:4 me:5 t:2"},
		{"Grüße aus Köln, 東京 2024!", "2024:5 aus:2 grüße:1 köln:3 東京:4"},
		{"ab abc a", "a:3 ab:1 abc:2"}, // a prefix sorts first, as tsvector orders
		{"under_score x" + long + " " + long + " y", "score:2 under:1 y:5"},
	} {
		var z tokenizer
		if got := lexemeString(z.lexemes(c.text)); got != c.want {
			t.Errorf("lexemes of %q = %q, want %q", c.text, got, c.want)
		}
	}
}

// lexemeString renders lexemes as tsvector's text form does, less quotes:
// word:positions, space-separated.
func lexemeString(lexemes []token) string {
	var b strings.Builder
	for i, l := range lexemes {
		switch {
		case i == 0:
		case l.word == lexemes[i-1].word:
			fmt.Fprintf(&b, ",%d", l.position)
			continue
		default:
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", l.word, l.position)
	}
	return b.String()
}

func TestSearchLexemesLimits(t *testing.T) {
	// 300 times the same word past position 16383: positions stop at the
	// lexeme's 256th and are clamped, never repeated.
	text := strings.Repeat("pad ", maxLexemePosition) + strings.Repeat("w ", 300)
	var z tokenizer
	positions := map[string][]uint16{}
	for _, l := range z.lexemes(text) {
		positions[l.word] = append(positions[l.word], l.position)
	}
	if len(positions["pad"]) != maxPositions || !slices.IsSorted(positions["pad"]) {
		t.Errorf("pad has %d positions (sorted: %v), want the first %d", len(positions["pad"]), slices.IsSorted(positions["pad"]), maxPositions)
	}
	if !reflect.DeepEqual(positions["w"], []uint16{maxLexemePosition}) {
		t.Errorf("w positions = %v, want only the clamped last one", positions["w"])
	}
}

func TestSearchQuery(t *testing.T) {
	for q, want := range map[string]string{
		"":                 "",
		" ?! ":             "",
		"Fox":              "'fox'",
		"lazy fox, lazy!":  "'fox' & 'lazy'",
		"it's O'Brien's":   "'brien' & 'it' & 'o' & 's'",
		`back\slash "q"`:   "'back' & 'q' & 'slash'",
		"straße & | ! <->": "'straße'",
	} {
		got, ok := searchQuery(q)
		if got != want || ok != (want != "") {
			t.Errorf("searchQuery(%q) = %q, %v; want %q", q, got, ok, want)
		}
	}
}

// TestSearchVectorsInPostgres sends vectors both ways the writers do (a
// parameter, binary COPY) and checks PostgreSQL reads them as the words
// of the text, and that for ordinary chat text they are the vectors its
// to_tsvector('simple', ...) made before.
func TestSearchVectorsInPostgres(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	texts := []string{
		"hello, this is a chat message of ordinary length",
		"The quick brown fox jumps over the lazy dog; the dog sleeps",
		"Grüße aus Köln! ÉTÉ 2024 — 東京 naïve café",
		"",
	}
	if _, err := db.pool.Exec(ctx, `CREATE TEMP TABLE vectors (i int, v tsvector)`); err != nil {
		t.Fatal(err)
	}
	var w copyWriter
	w.reset()
	for i, text := range texts {
		w.tuple(2)
		w.field(4)
		w.buf = append(w.buf, 0, 0, 0, byte(i))
		w.tsvector(text)
	}
	w.end()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, strings.NewReader(string(w.buf)), `COPY vectors FROM STDIN WITH (FORMAT binary)`); err != nil {
		t.Fatalf("copy vectors: %v", err)
	}
	for i, text := range texts {
		var param, copied, server string
		err := conn.QueryRow(ctx, `SELECT $1::tsvector::text, (SELECT v::text FROM vectors WHERE i = $2), to_tsvector('simple', $3)::text`,
			searchVector(text), i, text).Scan(&param, &copied, &server)
		if err != nil {
			t.Fatal(err)
		}
		if param != copied || param != server {
			t.Errorf("%q:\nparameter %s\ncopied    %s\nserver    %s", text, param, copied, server)
		}
	}
}

// TestSearchVectorsOfOlderTables: a history table made when PostgreSQL
// generated the vectors keeps the ones it has, and takes the writer's; its
// search index stops keeping a pending list.
func TestSearchVectorsOfOlderTables(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	p := db.Projections()
	old, room := uuid.New(), uuid.New()
	_, err := db.pool.Exec(ctx, `CREATE TABLE history_messages_v1 (
		id uuid PRIMARY KEY, room uuid NOT NULL, seq bigint NOT NULL, author_id uuid NOT NULL,
		author_name text NOT NULL, body text NOT NULL, client_id uuid NOT NULL, sent_at timestamptz NOT NULL,
		edited_at timestamptz, deleted boolean NOT NULL DEFAULT false,
		search tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED)`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `CREATE INDEX history_messages_v1_search ON history_messages_v1 USING gin (search)`); err != nil {
		t.Fatal(err)
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO history_messages_v1 (id, room, seq, author_id, author_name, body, client_id, sent_at)
		VALUES ($1, $2, 1, $1, 'ada', 'an older message', $1, now())`, old, room)
	if err != nil {
		t.Fatal(err)
	}
	mustPrepare(t, p, "history", 1)
	mustPrepare(t, p, "history", 1) // every start prepares again
	var options []string
	if err := db.pool.QueryRow(ctx, `SELECT reloptions FROM pg_class WHERE relname = 'history_messages_v1_search'`).Scan(&options); err != nil || !slices.Equal(options, []string{"fastupdate=off"}) {
		t.Errorf("search index options = %v, %v; want fastupdate=off", options, err)
	}
	fresh := projections.Message{ID: uuid.New(), Room: room, Seq: 2, Author: domain.UserRef{ID: old, Username: "ada"},
		Body: "a newer message", ClientID: uuid.New(), SentAt: projections.Timestamp(time.Now())}
	apply(t, p, "history", 0, domain.Cursor{TxID: 1, Position: 2}, func(tx projections.Tx) error {
		w := tx.(projections.HistoryWriter)
		if err := w.InsertMessage(ctx, fresh); err != nil {
			return err
		}
		return w.EditMessage(ctx, room, old, "an older message, edited", time.Now())
	})
	for q, want := range map[string][]uuid.UUID{
		"message": {old, fresh.ID}, "older edited": {old}, "newer": {fresh.ID},
	} {
		query, _ := searchQuery(q)
		rows, err := db.pool.Query(ctx, `SELECT id FROM history_messages_v1 WHERE search @@ $1::tsquery ORDER BY seq`, query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q finds %v, %v; want %v", q, got, err, want)
		}
	}
}

func BenchmarkSearchVector(b *testing.B) {
	const body = "hello, this is a chat message of ordinary length"
	b.Run("copy", func(b *testing.B) {
		b.ReportAllocs()
		var w copyWriter
		for b.Loop() {
			w.reset()
			w.tsvector(body)
		}
	})
	b.Run("parameter", func(b *testing.B) {
		b.ReportAllocs()
		m := pgtype.NewMap()
		for b.Loop() {
			if _, err := m.Encode(pgtype.TSVectorOID, pgx.BinaryFormatCode, searchVector(body), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
