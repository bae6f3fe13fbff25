package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// historyOp is one history write, applied alike to a serving and a
// building version.
type historyOp func(ctx context.Context, tx projections.Tx) error

// TestBuildingVersionCopiesLikeServingInserts: a version being built sends
// its history rows with COPY and applies edits to held rows in place; fed
// the same writes as the serving version (which INSERTs ... ON CONFLICT DO
// NOTHING row by row in effect), its tables end up identical. The writes
// repeat message ids (in one room and across rooms, within a held set and
// across sends and transactions), edit and delete held, sent and unknown
// messages, and repeat a (room, seq), so COPY falls back to INSERT.
func TestBuildingVersionCopiesLikeServingInserts(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	p := db.Projections()
	mustPrepare(t, p, "history", 1)
	mustPrepare(t, p, "history", 2) // beside v1: being built
	ops := randomHistoryOps(rand.New(rand.NewPCG(1, 2)), 3*copyEvery)
	for i, part := range [][]historyOp{ops[:len(ops)/3], ops[len(ops)/3:]} {
		c := domain.Cursor{TxID: uint64(i + 1), Position: int64(i + 1)}
		for _, version := range []int{1, 2} {
			apply(t, p, "history", version, c, func(tx projections.Tx) error {
				for _, op := range part {
					if err := op(ctx, tx); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	for _, q := range []string{
		`SELECT id, room, seq, author_id, author_name, body, client_id, sent_at, edited_at, deleted, search::text
			FROM history_messages_v%d ORDER BY id`,
		`SELECT room, seq, frame FROM history_events_v%d ORDER BY room, seq`,
	} {
		serving, built := tableText(t, db, fmt.Sprintf(q, 1)), tableText(t, db, fmt.Sprintf(q, 2))
		if len(serving) < copyEvery {
			t.Fatalf("only %d rows: the test needs more", len(serving))
		}
		if !slices.Equal(serving, built) {
			for i := range min(len(serving), len(built)) {
				if serving[i] != built[i] {
					t.Fatalf("%s: row %d differs:\n serving %s\n built   %s", q, i, serving[i], built[i])
				}
			}
			t.Fatalf("%s: %d rows serving, %d built", q, len(serving), len(built))
		}
	}
}

// randomHistoryOps returns n writes over three rooms.
func randomHistoryOps(rng *rand.Rand, n int) []historyOp {
	rooms := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	seqs := map[uuid.UUID]int64{}
	var ids []uuid.UUID
	at := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	pick := func() uuid.UUID {
		if len(ids) == 0 || rng.IntN(20) == 0 {
			return uuid.New() // unknown
		}
		return ids[rng.IntN(len(ids))]
	}
	var ops []historyOp
	for i := range n {
		room := rooms[rng.IntN(len(rooms))]
		at = at.Add(time.Millisecond)
		when := at
		switch k := rng.IntN(10); {
		case k < 6:
			id := uuid.New()
			if len(ids) > 0 && rng.IntN(15) == 0 {
				id = ids[rng.IntN(len(ids))] // posted again, maybe elsewhere
			}
			ids = append(ids, id)
			seqs[room]++
			seq := seqs[room]
			if i == n/2 {
				seq-- // a (room, seq) repeated
			}
			m := projections.Message{ID: id, Room: room, Seq: seq, Author: domain.UserRef{ID: room, Username: "u"},
				Body: fmt.Sprintf("message %d", i), ClientID: uuid.New(), SentAt: projections.Timestamp(when)}
			ops = append(ops, func(ctx context.Context, tx projections.Tx) error {
				if err := tx.InsertRoomEvent(ctx, room, seq, fmt.Appendf(nil, `{"seq":%d,"id":%q}`, seq, id)); err != nil {
					return err
				}
				return tx.InsertMessage(ctx, m)
			})
		case k < 9:
			id, body := pick(), fmt.Sprintf("edited %d", i)
			ops = append(ops, func(ctx context.Context, tx projections.Tx) error {
				return tx.EditMessage(ctx, room, id, body, when)
			})
		default:
			id := pick()
			ops = append(ops, func(ctx context.Context, tx projections.Tx) error {
				return tx.DeleteMessage(ctx, room, id)
			})
		}
	}
	return ops
}

// tableText returns each row of query as text.
func tableText(tb testing.TB, db *DB, query string) []string {
	tb.Helper()
	rows, err := db.pool.Query(context.Background(), `SELECT t::text FROM (`+query+`) t`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
