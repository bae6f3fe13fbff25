package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/prometheus/client_golang/prometheus"
)

// RunnerMetrics measures the projections. A nil *RunnerMetrics measures
// nothing, so tests and tools may leave it out.
type RunnerMetrics struct {
	batches    *prometheus.CounterVec
	events     *prometheus.CounterVec
	skips      *prometheus.CounterVec
	heals      *prometheus.CounterVec
	failures   *prometheus.CounterVec
	publishErr *prometheus.CounterVec
	lagEvents  *prometheus.GaugeVec
	lagSeconds *prometheus.GaugeVec
	delay      *prometheus.HistogramVec
}

// NewRunnerMetrics registers the projection metrics with reg.
func NewRunnerMetrics(reg prometheus.Registerer) *RunnerMetrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"projection"})
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"projection"})
	}
	m := &RunnerMetrics{
		batches:    counter("chat_projection_batches_total", "Read-model transactions committed (bus batches, catch-up and heal chunks)."),
		events:     counter("chat_projection_events_total", "Log events applied to a projection."),
		skips:      counter("chat_projection_skipped_batches_total", "Bus batches the projection already held (duplicates)."),
		heals:      counter("chat_projection_heals_total", "Gaps between the checkpoint and a bus batch, healed from the log."),
		failures:   counter("chat_projection_failures_total", "Batches that failed to decode, apply or commit."),
		publishErr: counter("chat_projection_publish_errors_total", "Committed batches whose updates could not be published."),
		lagEvents: gauge("chat_projection_lag_events",
			"Log head position minus checkpoint position (an approximation: positions have gaps)."),
		lagSeconds: gauge("chat_projection_lag_seconds",
			"Now minus recorded_at of the last applied event, while behind the head; 0 when caught up."),
	}
	m.delay = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "chat_projection_delay_seconds",
		Help: "From the recording of a transaction's oldest event to its commit in the read model (recorded_at has millisecond precision).",
		// 1 ms to 2 s, as the relay's.
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 12)}, []string{"projection"})
	reg.MustRegister(m.batches, m.events, m.skips, m.heals, m.failures, m.publishErr, m.lagEvents, m.lagSeconds, m.delay)
	return m
}

func (m *RunnerMetrics) applied(name string, applied []domain.Event) {
	if m == nil {
		return
	}
	m.batches.WithLabelValues(name).Inc()
	m.events.WithLabelValues(name).Add(float64(len(applied)))
	if len(applied) > 0 {
		m.delay.WithLabelValues(name).Observe(time.Since(applied[0].RecordedAt).Seconds())
	}
}

func (m *RunnerMetrics) skipped(name string) {
	if m != nil {
		m.skips.WithLabelValues(name).Inc()
	}
}

func (m *RunnerMetrics) healed(name string) {
	if m != nil {
		m.heals.WithLabelValues(name).Inc()
	}
}

func (m *RunnerMetrics) failed(name string) {
	if m != nil {
		m.failures.WithLabelValues(name).Inc()
	}
}

func (m *RunnerMetrics) publishFailed(name string) {
	if m != nil {
		m.publishErr.WithLabelValues(name).Inc()
	}
}

func (m *RunnerMetrics) lag(s Status) {
	if m != nil {
		m.lagEvents.WithLabelValues(s.Name).Set(float64(s.LagEvents))
		m.lagSeconds.WithLabelValues(s.Name).Set(s.LagSeconds)
	}
}

// Status is how far one projection is behind the log.
type Status struct {
	Name       string
	Version    int // serving version
	Checkpoint domain.Cursor
	Head       domain.Cursor
	// LagEvents is Head.Position − Checkpoint.Position: positions have gaps
	// (rolled-back identities) and commit order differs slightly from
	// position order, so this approximates the number of events behind.
	LagEvents int64
	// LagSeconds is now − recorded_at of the last event this node applied,
	// while the projection is behind; 0 when caught up, or when this node
	// applied nothing yet.
	LagSeconds float64
}

// Status reports every projection's lag and refreshes the lag metrics.
// It reads each checkpoint through a transaction, so it also proves the
// read-model store answers.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	var head domain.Cursor
	if r.cfg.Head != nil {
		h, err := r.cfg.Head.LogHead(ctx)
		if err != nil {
			return nil, fmt.Errorf("log head: %w", err)
		}
		head = h
	}
	out := make([]Status, 0, len(r.cfg.Projections))
	for _, p := range r.cfg.Projections {
		s, err := r.status(ctx, r.byName[p.Name()], head)
		if err != nil {
			return nil, err
		}
		r.cfg.Metrics.lag(s)
		out = append(out, s)
	}
	return out, nil
}

func (r *Runner) status(ctx context.Context, st *projState, head domain.Cursor) (Status, error) {
	name := st.p.Name()
	tx, err := r.cfg.Store.Begin(ctx, name)
	if err != nil {
		return Status{}, fmt.Errorf("begin projection %s: %w", name, err)
	}
	cp, err := tx.Checkpoint(ctx)
	version := tx.Version()
	rollback(ctx, tx, r.log)
	if err != nil {
		return Status{}, fmt.Errorf("checkpoint of projection %s: %w", name, err)
	}
	s := Status{Name: name, Version: version, Checkpoint: cp, Head: head}
	if r.cfg.Head == nil || !cp.Less(head) {
		return s, nil
	}
	s.LagEvents = max(head.Position-cp.Position, 1)
	st.statMu.Lock()
	last := st.lastApplied
	st.statMu.Unlock()
	if !last.IsZero() {
		s.LagSeconds = max(time.Since(last).Seconds(), 0)
	}
	return s, nil
}
