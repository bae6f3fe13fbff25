package main

import (
	"context"
	"fmt"
	"time"

	"github.com/chatlog/chat/cmd/internal/platform"
)

// catchUp makes read model name current before chatctl reads it. A running
// server applies the log itself and publishes the projection's updates to
// its sockets, so chatctl first waits for it; only when nothing advances
// the projection (no server running) does chatctl apply the log itself.
func (t *tool) catchUp(ctx context.Context, name string) error {
	head, err := t.p.DB.LogHead(ctx)
	if err != nil {
		return fmt.Errorf("log head: %w", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = t.p.DB.WaitFor(waitCtx, name, head)
	cancel()
	if err == nil {
		return nil
	}
	for _, p := range platform.ReadModels() {
		if p.Name() == name {
			if err := t.p.Projections.Prepare(ctx, name, p.Version()); err != nil {
				return fmt.Errorf("prepare %s: %w", name, err)
			}
		}
	}
	runner, err := t.p.NewRunner(nil, nil, t.log)
	if err != nil {
		return err
	}
	if err := runner.CatchUp(ctx, name); err != nil {
		return fmt.Errorf("catch up %s: %w", name, err)
	}
	return nil
}
