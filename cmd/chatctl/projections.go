package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/chatlog/chat/projections"
)

func (t *tool) projections(ctx context.Context, args []string) error {
	if err := t.prepareMissing(ctx); err != nil {
		return err
	}
	runner, err := t.p.NewRunner(nil, nil, t.log)
	if err != nil {
		return err
	}
	switch {
	case len(args) == 1 && args[0] == "status":
		return t.projectionStatus(ctx, runner)
	case len(args) == 2 && args[0] == "rebuild":
		return t.rebuild(ctx, runner, args[1])
	}
	return errUsage
}

func (t *tool) projectionStatus(ctx context.Context, runner *projections.Runner) error {
	statuses, err := runner.Status(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(t.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tVERSION\tCHECKPOINT\tLAG EVENTS\tLAG SECONDS\tSTATE")
	for _, s := range statuses {
		_, all, err := t.p.Projections.Versions(ctx, s.Name)
		if err != nil {
			return err
		}
		state := "live"
		if len(all) > 1 {
			state = "rebuilding"
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%.1f\t%s\n", s.Name, s.Version, s.Checkpoint, s.LagEvents, s.LagSeconds, state)
	}
	return w.Flush()
}

// rebuild builds the next version of a projection beside the serving one
// and switches to it; chatd keeps serving the old version meanwhile. An
// interrupted rebuild leaves the serving version alone and a rerun resumes.
func (t *tool) rebuild(ctx context.Context, runner *projections.Runner, name string) error {
	start := time.Now()
	last := time.Time{}
	err := runner.Rebuild(ctx, name, func(p projections.Progress) {
		if time.Since(last) < 200*time.Millisecond && !p.Activated {
			return
		}
		last = time.Now()
		pct := 100.0
		if p.Total > 0 && p.Position < p.Total {
			pct = 100 * float64(p.Position) / float64(p.Total)
		}
		fmt.Fprintf(t.out, "\r%s v%d  %5.1f%%  %d events  %.0f events/s  ETA %s   ", name, p.Version, pct,
			p.Applied, p.EventsPerSec, p.ETA.Round(time.Second))
	})
	fmt.Fprintln(t.out)
	if err != nil {
		return fmt.Errorf("rebuild %s (rerun to resume): %w", name, err)
	}
	fmt.Fprintf(t.out, "%s rebuilt and serving in %s\n", name, time.Since(start).Round(time.Millisecond))
	return nil
}
