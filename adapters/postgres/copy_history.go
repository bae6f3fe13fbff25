package postgres

import (
	"time"

	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// The held rows of history: as unnest INSERTs (heldRows) and as COPY data
// (copyRows, for a version being built).

// roomEventRows are held history_events rows.
type roomEventRows struct {
	room  column[uuidElem]
	seq   column[int8Elem]
	frame column[byteaElem]
}

func (r *roomEventRows) table() string { return historyEventsTable[0] }
func (r *roomEventRows) len() int      { return len(r.room) }

func (r *roomEventRows) statement(table string) (string, []any) {
	sql := unnestInsert(table, "room, seq, frame", []string{"uuid", "int8", "bytea"},
		"ON CONFLICT DO NOTHING") // (room, seq): a version being built has no index to name yet
	args := []any{r.room, r.seq, r.frame}
	*r = roomEventRows{}
	return sql, args
}

func (r *roomEventRows) detach() copyRows {
	d := *r
	*r = roomEventRows{}
	return &d
}

func (r *roomEventRows) copyColumns() string { return "room, seq, frame" }

func (r *roomEventRows) appendCopy(w *copyWriter) {
	for i := range r.room {
		w.tuple(3)
		w.uuid(r.room[i])
		w.int8(int64(r.seq[i]))
		w.bytea(r.frame[i])
	}
}

// messageRows are held history_messages rows. Edits and deletes of a
// version being built change them in place (see changeMessage).
type messageRows struct {
	id, room, authorID, clientID column[uuidElem]
	seq                          column[int8Elem]
	authorName, body             column[textElem]
	sentAt                       column[timeElem]
	editedAt                     column[nullTimeElem]
	deleted                      column[boolElem]
	// first maps ids to their first row, for changes in place (kept only
	// for a version being built); changed is set once one was made.
	first   map[uuid.UUID]int
	changed bool
}

const messageColumnList = "id, room, seq, author_id, author_name, body, client_id, sent_at, search, edited_at, deleted"

// add holds m, tracking its id for changes in place if track is set.
func (r *messageRows) add(m projections.Message, track bool) {
	if track {
		if r.first == nil {
			r.first = map[uuid.UUID]int{}
		}
		if _, ok := r.first[m.ID]; !ok {
			r.first[m.ID] = len(r.id)
		}
	}
	r.id = append(r.id, uuidElem(m.ID))
	r.room = append(r.room, uuidElem(m.Room))
	r.seq = append(r.seq, int8Elem(m.Seq))
	r.authorID = append(r.authorID, uuidElem(m.Author.ID))
	r.authorName = append(r.authorName, textElem(m.Author.Username))
	r.body = append(r.body, textElem(m.Body))
	r.clientID = append(r.clientID, uuidElem(m.ClientID))
	r.sentAt = append(r.sentAt, timeElem(m.SentAt))
	r.editedAt = append(r.editedAt, nullTimeElem{})
	r.deleted = append(r.deleted, false)
}

func (r *messageRows) table() string { return historyMessagesTable[0] }
func (r *messageRows) len() int      { return len(r.id) }

// statement inserts the rows; edited_at and deleted, which are NULL and
// false unless a row was changed in place, are sent only then. The search
// vectors are made from the bodies as they are sent, after any change.
func (r *messageRows) statement(table string) (string, []any) {
	cols := messageColumnList
	types := []string{"uuid", "uuid", "int8", "uuid", "text", "text", "uuid", "timestamptz", "tsvector", "timestamptz", "bool"}
	search := make(column[searchVector], len(r.body))
	for i, b := range r.body {
		search[i] = searchVector(b)
	}
	args := []any{r.id, r.room, r.seq, r.authorID, r.authorName, r.body, r.clientID, r.sentAt, search, r.editedAt, r.deleted}
	if !r.changed {
		cols, types, args = "id, room, seq, author_id, author_name, body, client_id, sent_at, search", types[:9], args[:9]
	}
	sql := unnestInsert(table, cols, types, "ON CONFLICT (id) DO NOTHING")
	*r = messageRows{}
	return sql, args
}

func (r *messageRows) detach() copyRows {
	d := *r
	*r = messageRows{}
	return &d
}

func (r *messageRows) copyColumns() string { return messageColumnList }

func (r *messageRows) appendCopy(w *copyWriter) {
	for i := range r.id {
		w.tuple(11)
		w.uuid(r.id[i])
		w.uuid(r.room[i])
		w.int8(int64(r.seq[i]))
		w.uuid(r.authorID[i])
		w.text(string(r.authorName[i]))
		w.text(string(r.body[i]))
		w.uuid(r.clientID[i])
		w.timestamptz(time.Time(r.sentAt[i]))
		w.tsvector(string(r.body[i]))
		if e := r.editedAt[i]; e.ok {
			w.timestamptz(e.t)
		} else {
			w.null()
		}
		w.bool(bool(r.deleted[i]))
	}
}
