package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/chatlog/chat/domain"
)

// statusOf is the one table from domain error codes to HTTP. The wire code
// is the domain code except for invalid, which PROTOCOL.md calls bad_request.
var statusOf = map[domain.Code]struct {
	status int
	wire   string
}{
	domain.CodeInvalid:         {http.StatusBadRequest, "bad_request"},
	domain.CodeUnauthorized:    {http.StatusUnauthorized, "unauthorized"},
	domain.CodeForbidden:       {http.StatusForbidden, "forbidden"},
	domain.CodePendingApproval: {http.StatusForbidden, "pending_approval"},
	domain.CodeRejected:        {http.StatusForbidden, "rejected"},
	domain.CodeNotFound:        {http.StatusNotFound, "not_found"},
	domain.CodeConflict:        {http.StatusConflict, "conflict"},
	domain.CodeTooLarge:        {http.StatusRequestEntityTooLarge, "too_large"},
	domain.CodeRateLimited:     {http.StatusTooManyRequests, "rate_limited"},
	domain.CodeInternal:        {http.StatusInternalServerError, "internal"},
}

// rateLimitError carries how long the client should wait.
type rateLimitError struct{ wait time.Duration }

func (e *rateLimitError) Error() string { return "rate limited" }

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers err in PROTOCOL.md's error shape. Internal errors are
// logged with the request and hidden from the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var rl *rateLimitError
	if errors.As(err, &rl) {
		secs := int(rl.wait/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		err = domain.Errorf(domain.CodeRateLimited, "too many attempts; retry in %d s", secs)
	}
	code := domain.ErrorCode(err)
	m, ok := statusOf[code]
	if !ok {
		m = statusOf[domain.CodeInternal]
	}
	if code == domain.CodeInternal {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body errorBody
	body.Error.Code = m.wire
	body.Error.Message = domain.ErrorMessage(err)
	writeJSON(w, m.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}
