package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// Paging limits of PROTOCOL.md.
const (
	defaultPage = 50
	maxPage     = 200
	maxQuery    = 256 // characters of a search query
)

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, p *Principal) error {
	room, err := s.memberRoom(r, p)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := intParam(q, "limit", defaultPage, 1, maxPage)
	if err != nil {
		return err
	}
	before, err := intParam(q, "before", 0, 1, 1<<62)
	if err != nil {
		return err
	}
	after, err := intParam(q, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	if q.Has("before") && q.Has("after") {
		return domain.Errorf(domain.CodeInvalid, "before, after: give one or neither")
	}
	page := Page{Before: int64(before), After: int64(after), Forward: q.Has("after"), Limit: limit}
	msgs, more, err := s.cfg.History.Messages(r.Context(), room.ID, page)
	if err != nil {
		return err
	}
	if msgs == nil {
		msgs = []projections.Message{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs, "has_more": more})
	return nil
}

type postMessageBody struct {
	ClientID *string `json:"client_id"`
	Body     *string `json:"body"`
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return domain.Errorf(domain.CodeNotFound, "room not found")
	}
	var req postMessageBody
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	rawClient, err := requireString("client_id", req.ClientID)
	if err != nil {
		return err
	}
	clientID, err := uuid.Parse(rawClient)
	if err != nil {
		return domain.Errorf(domain.CodeInvalid, "client_id: must be a UUID")
	}
	rawBody, err := requireString("body", req.Body)
	if err != nil {
		return err
	}
	body, err := domain.NormalizeBody(rawBody)
	if err != nil {
		return err
	}
	cmd := domain.PostMessage{By: p.User.ID, RoomID: id, MessageID: s.cfg.NewID(), ClientID: clientID, Body: body}
	events, err := s.cfg.Commands.Execute(r.Context(), cmd, s.meta(r, p))
	if err != nil {
		return err
	}
	msg, err := messageFromEvent(events[0])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": msg})
	return nil
}

// messageFromEvent renders the message a post recorded; a repeated post
// returns the first one's event, so both answers are the same message.
func messageFromEvent(e domain.Event) (projections.Message, error) {
	p, err := e.Decode()
	if err != nil {
		return projections.Message{}, err
	}
	posted, ok := p.(*domain.MessagePosted)
	if !ok {
		return projections.Message{}, domain.Errorf(domain.CodeInternal, "event %d is %s, not a message", e.Position, e.Type)
	}
	return projections.Message{ID: posted.MessageID, Room: posted.RoomID, Seq: e.Version, Author: posted.Author,
		Body: posted.Body, ClientID: posted.ClientID, SentAt: projections.Timestamp(e.RecordedAt)}, nil
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("q"))
	if text == "" {
		return domain.Errorf(domain.CodeInvalid, "q: required")
	}
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) > maxQuery {
		return domain.Errorf(domain.CodeInvalid, "q: at most %d characters of valid UTF-8", maxQuery)
	}
	limit, err := intParam(q, "limit", defaultPage, 1, maxPage)
	if err != nil {
		return err
	}
	var room uuid.UUID
	if raw := q.Get("room"); raw != "" {
		if room, err = uuid.Parse(raw); err != nil {
			return domain.Errorf(domain.CodeNotFound, "room not found")
		}
		got, err := s.cfg.Rooms.Room(r.Context(), room, p.User.ID)
		if err != nil {
			return err
		}
		if !got.Member {
			return domain.Errorf(domain.CodeForbidden, "not a member of this room")
		}
	}
	results, err := s.cfg.History.Search(r.Context(), p.User.ID, text, room, limit)
	if err != nil {
		return err
	}
	if results == nil {
		results = []projections.Message{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	if !q.Has(name) {
		return def, nil
	}
	v, err := strconv.Atoi(q.Get(name))
	if err != nil || v < lo || v > hi {
		return 0, domain.Errorf(domain.CodeInvalid, "%s: must be an integer from %d to %d", name, lo, hi)
	}
	return v, nil
}
