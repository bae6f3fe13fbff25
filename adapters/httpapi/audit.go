package httpapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
)

// Audit reads the raw log for auditors.
type Audit interface {
	// ReadAll and ReadStream are eventstore.Reader's: the log in commit
	// order, and one stream in version order.
	ReadAll(ctx context.Context, after domain.Cursor, limit int) ([]domain.Event, error)
	ReadStream(ctx context.Context, stream string, after int64, limit int) ([]domain.Event, error)
	// CursorAt maps a position a client saw back to its commit-order
	// cursor; ok is false when no event has that position.
	CursorAt(ctx context.Context, position int64) (c domain.Cursor, ok bool, err error)
	LogHead(ctx context.Context) (domain.Cursor, error)
	// Verify recomputes every hash chain (and checks the latest seal).
	Verify(ctx context.Context) (AuditReport, error)
}

// AuditReport is the answer of GET /api/audit/verify.
type AuditReport struct {
	OK       bool         `json:"ok"`
	Events   int64        `json:"events"`
	Streams  int          `json:"streams"`
	FirstBad *AuditBadRef `json:"first_bad"`
	// Reason says what is wrong with FirstBad (or with the seal).
	Reason string `json:"reason,omitempty"`
}

// AuditBadRef names the first event whose chain does not hold.
type AuditBadRef struct {
	Stream  string `json:"stream"`
	Version int64  `json:"version"`
}

// auditEvent is PROTOCOL.md's audit view of one log row.
type auditEvent struct {
	Position int64                 `json:"position"`
	Stream   string                `json:"stream"`
	Version  int64                 `json:"version"`
	Type     string                `json:"type"`
	At       projections.Timestamp `json:"at"`
	Actor    *domain.UserRef       `json:"actor"`
	Data     json.RawMessage       `json:"data"`
	Hash     string                `json:"hash"`
	PrevHash string                `json:"prev_hash"`
}

const (
	auditDefaultLimit = 1000
	auditMaxLimit     = 5000
)

func (s *Server) auditRoutes() {
	if s.cfg.Audit == nil {
		return
	}
	s.mux.HandleFunc("GET /api/audit/events", s.auditor(s.auditEvents))
	s.mux.HandleFunc("GET /api/audit/verify", s.auditor(s.auditVerify))
}

// auditor admits admins and auditors.
func (s *Server) auditor(h func(http.ResponseWriter, *http.Request, *Principal) error) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if !p.User.HasRole(domain.RoleAdmin) && !p.User.HasRole(domain.RoleAuditor) {
			return domain.Errorf(domain.CodeForbidden, "administrators and auditors only")
		}
		return h(w, r, p)
	})
}

func (s *Server) auditEvents(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	q := r.URL.Query()
	limit, err := intParam(q, "limit", auditDefaultLimit, 1, auditMaxLimit)
	if err != nil {
		return err
	}
	after := int64(0)
	if q.Has("after") {
		if after, err = strconv.ParseInt(q.Get("after"), 10, 64); err != nil || after < 0 {
			return domain.Errorf(domain.CodeInvalid, "after: must be a position (an integer ≥ 0)")
		}
	}
	ctx := r.Context()
	head, err := s.cfg.Audit.LogHead(ctx)
	if err != nil {
		return err
	}
	var events []domain.Event
	if stream := q.Get("stream"); stream != "" {
		events, err = s.streamAfter(ctx, stream, after, limit)
	} else {
		events, err = s.logAfter(ctx, after, limit)
	}
	if err != nil {
		return err
	}
	out := make([]auditEvent, len(events))
	for i := range events {
		if out[i], err = toAuditEvent(&events[i]); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "head": head.Position})
	return nil
}

// logAfter reads the log in commit order after the event at position.
func (s *Server) logAfter(ctx context.Context, after int64, limit int) ([]domain.Event, error) {
	var from domain.Cursor
	if after > 0 {
		c, ok, err := s.cfg.Audit.CursorAt(ctx, after)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, domain.Errorf(domain.CodeInvalid, "after: no event has position %d", after)
		}
		from = c
	}
	return s.cfg.Audit.ReadAll(ctx, from, limit)
}

// streamAfter reads one stream's events with a position over after. A
// stream's positions grow with its versions (its head row serialises its
// appends), so the first page past after starts the answer.
func (s *Server) streamAfter(ctx context.Context, stream string, after int64, limit int) ([]domain.Event, error) {
	var out []domain.Event
	version := int64(0)
	for len(out) < limit {
		page, err := s.cfg.Audit.ReadStream(ctx, stream, version, auditMaxLimit)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if e.Position > after && len(out) < limit {
				out = append(out, e)
			}
		}
		if len(page) < auditMaxLimit {
			break
		}
		version = page[len(page)-1].Version
	}
	return out, nil
}

func toAuditEvent(e *domain.Event) (auditEvent, error) {
	meta, err := domain.DecodeMetadata(e.Metadata)
	if err != nil {
		return auditEvent{}, err
	}
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return auditEvent{Position: e.Position, Stream: e.Stream, Version: e.Version, Type: e.Type,
		At: projections.Timestamp(e.RecordedAt), Actor: meta.Actor(), Data: data,
		Hash: hex.EncodeToString(e.Hash), PrevHash: hex.EncodeToString(e.PrevHash)}, nil
}

func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	rep, err := s.cfg.Audit.Verify(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
