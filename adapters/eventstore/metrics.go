package eventstore

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics measures the write path.
type Metrics struct {
	batches  prometheus.Histogram
	latency  prometheus.Histogram
	failures prometheus.Counter
	commands prometheus.Counter
}

// NewMetrics registers the write path's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chat_append_batch_size", Help: "Commands written per group-commit transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chat_append_seconds", Help: "Time to write and commit one group-commit transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_append_failures_total", Help: "Group-commit transactions that failed.",
		}),
		commands: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_append_commands_total", Help: "Commands written to the log.",
		}),
	}
	reg.MustRegister(m.batches, m.latency, m.failures, m.commands)
	return m
}

func (m *Metrics) observeBatch(n int, took time.Duration, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.failures.Inc()
		return
	}
	m.batches.Observe(float64(n))
	m.latency.Observe(took.Seconds())
	m.commands.Add(float64(n))
}
