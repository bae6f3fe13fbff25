package ws

import (
	"github.com/chatlog/chat/domain"
)

// validate checks that f has the fields its type needs, before anything
// reaches domain, and returns the normalized body of send and edit.
func (f *clientFrame) validate() (body string, err error) {
	need := func(has bool, name string) error {
		if !has {
			return domain.Errorf(domain.CodeInvalid, "%s: is required", name)
		}
		return nil
	}
	switch f.typ {
	case ftPing:
		return "", nil
	case ftSubscribe, ftUnsubscribe, ftTyping, ftDelete, ftRead, ftSend, ftEdit:
		if err := need(f.hasRoom, "room"); err != nil {
			return "", err
		}
	default:
		return "", domain.Errorf(domain.CodeInvalid, "type: unknown frame type %q", f.typeName)
	}
	switch f.typ {
	case ftDelete:
		return "", need(f.hasID, "id")
	case ftRead:
		return "", need(f.hasSeq, "seq")
	case ftSend:
		if err := need(f.hasClientID, "client_id"); err != nil {
			return "", err
		}
	case ftEdit:
		if err := need(f.hasID, "id"); err != nil {
			return "", err
		}
	default:
		return "", nil
	}
	if err := need(f.hasBody, "body"); err != nil {
		return "", err
	}
	return domain.NormalizeBody(string(f.body))
}
