package bus

import (
	"context"
	"errors"

	"github.com/ThreeDotsLabs/watermill"
)

// quietCancel keeps Watermill's "stop reading after error: context
// canceled" at debug level: every subscriber logs it on a clean shutdown,
// and an operator reading errors should only see real failures.
type quietCancel struct{ watermill.LoggerAdapter }

func (q quietCancel) Error(msg string, err error, fields watermill.LogFields) {
	if errors.Is(err, context.Canceled) {
		q.Debug(msg, fields.Add(watermill.LogFields{"err": err}))
		return
	}
	q.LoggerAdapter.Error(msg, err, fields)
}

func (q quietCancel) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return quietCancel{q.LoggerAdapter.With(fields)}
}
