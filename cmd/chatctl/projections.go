package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/chatlog/chat/projections"
)

func (t *tool) projections(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	var maxLag time.Duration
	fs := flag.NewFlagSet("projections "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.DurationVar(&maxLag, "max-lag", 10*time.Second, "status: a projection whose oldest unapplied event waited longer has failed")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if err := t.prepareMissing(ctx); err != nil {
		return err
	}
	runner, err := t.p.NewRunner(nil, nil, t.log)
	if err != nil {
		return err
	}
	switch {
	case args[0] == "status" && fs.NArg() == 0:
		return t.projectionStatus(ctx, runner, maxLag)
	case args[0] == "rebuild" && fs.NArg() == 1:
		return t.rebuild(ctx, runner, fs.Arg(0))
	}
	return errUsage
}

// projectionStatus prints each projection's serving version, checkpoint
// and lag. The lag in seconds is how long the oldest event the projection
// has not applied has waited: chatctl applies nothing itself, so the
// runner's own measure (the last event this process applied) says nothing.
// State: rebuilding while a second version exists beside the serving one,
// failed when the lag exceeds maxLag (no server is applying the log, or it
// is stuck on an event), else live.
func (t *tool) projectionStatus(ctx context.Context, runner *projections.Runner, maxLag time.Duration) error {
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
		lag := 0.0
		if s.Checkpoint.Less(s.Head) {
			next, err := t.p.DB.ReadAll(ctx, s.Checkpoint, 1)
			if err != nil {
				return fmt.Errorf("oldest event %s has not applied: %w", s.Name, err)
			}
			if len(next) == 1 {
				lag = max(0, time.Since(next[0].RecordedAt).Seconds())
			}
		}
		state := "live"
		switch {
		case len(all) > 1:
			state = "rebuilding"
		case lag > maxLag.Seconds():
			state = "failed"
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%.1f\t%s\n", s.Name, s.Version, s.Checkpoint, s.LagEvents, lag, state)
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
