package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/chatlog/chat/adapters/eventstore/storetest"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// TestMessageStateIsDerived: posting keeps no inline_state row per message,
// and the look-up that derives a message's state goes through the
// events_message index (a drift between the query and the index's
// predicate would scan the whole log on every edit and delete).
func TestMessageStateIsDerived(t *testing.T) {
	db := mustOpen(t)
	s := storetest.NewStore(t, db)
	ctx := context.Background()
	storetest.MustAppend(t, s, message(uuid.New()), message(uuid.New()))
	var rows int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM inline_state WHERE key LIKE 'msg:%'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Fatalf("inline_state holds %d message rows, want none", rows)
	}

	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// A tiny table would be scanned whatever the indexes; forbid that.
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = conn.Exec(ctx, `RESET enable_seqscan`) }()
	var plan strings.Builder
	rs, err := conn.Query(ctx, `EXPLAIN `+messageEvents, []string{uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var line string
		if err := rs.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "events_message") {
		t.Fatalf("message state look-up does not use events_message:\n%s", plan.String())
	}
}

// TestMessageKeysAreDerivedKeys: every key the domain names for a message
// is one the store derives.
func TestMessageKeysAreDerivedKeys(t *testing.T) {
	room, msg := uuid.New(), uuid.New()
	for _, cmd := range []domain.Command{
		domain.EditMessage{RoomID: room, MessageID: msg}, domain.DeleteMessage{RoomID: room, MessageID: msg},
	} {
		derived := 0
		for _, k := range cmd.Keys() {
			if isDerived(k) {
				derived++
			}
		}
		if derived != 1 {
			t.Errorf("%T names %d derived keys, want its message's", cmd, derived)
		}
	}
}
