package platform

import (
	"context"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/adapters/httpapi"
)

// Audit is the auditors' view of the log, for the API's /api/audit.
func (p *Platform) Audit() httpapi.Audit { return auditLog{p.DB} }

type auditLog struct{ DB }

// Verify recomputes every stream's hash chain.
func (a auditLog) Verify(ctx context.Context) (httpapi.AuditReport, error) {
	rep, err := eventstore.Verify(ctx, a.DB)
	if err != nil {
		return httpapi.AuditReport{}, err
	}
	out := httpapi.AuditReport{OK: rep.Bad == nil, Events: rep.Events, Streams: rep.Streams}
	if rep.Bad != nil {
		out.FirstBad = &httpapi.AuditBadRef{Stream: rep.Bad.Stream, Version: rep.Bad.Version}
		out.Reason = rep.Bad.Reason
	}
	return out, nil
}
