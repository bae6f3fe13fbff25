package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatlog/chat/cmd/internal/platform"
	"github.com/chatlog/chat/projections"
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
	if err := t.prepareMissing(ctx); err != nil {
		return err
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

// prepareMissing prepares the projections a store has never had (no
// server opened it yet), and only those: after a rebuild the serving
// version is not the code's, and preparing the code's would recreate the
// version the rebuild dropped.
func (t *tool) prepareMissing(ctx context.Context) error {
	for _, p := range platform.ReadModels() {
		serving, _, err := t.p.Projections.Versions(ctx, p.Name())
		if err != nil && !errors.Is(err, projections.ErrNoProjection) {
			return fmt.Errorf("versions of %s: %w", p.Name(), err)
		}
		if serving != 0 {
			continue
		}
		if err := t.p.Projections.Prepare(ctx, p.Name(), p.Version()); err != nil {
			return fmt.Errorf("prepare %s: %w", p.Name(), err)
		}
	}
	return nil
}
