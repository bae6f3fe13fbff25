package bus

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// delayBuckets span 1 ms to 2 s: a healthy pipeline moves an event along
// in milliseconds, an overloaded one in hundreds.
var delayBuckets = prometheus.ExponentialBuckets(0.001, 2, 12)

// Metrics measures the bus. A nil *Metrics measures nothing.
type Metrics struct {
	batches    prometheus.Counter
	events     prometheus.Counter
	updates    prometheus.Counter
	errors     *prometheus.CounterVec
	badEntries prometheus.Counter
	relayLag   prometheus.Gauge
	relayDelay prometheus.Histogram
	leader     *prometheus.GaugeVec
}

// NewMetrics registers the bus metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_bus_published_batches_total", Help: "Event batches the relay published."}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_bus_published_events_total", Help: "Log events the relay published."}),
		updates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_bus_published_updates_total", Help: "Projected updates published to the gateways."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chat_bus_errors_total", Help: "Bus failures by operation."}, []string{"op"}),
		badEntries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_bus_bad_entries_total", Help: "Stream entries that could not be decoded (logged and acked)."}),
		relayLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chat_relay_lag_events",
			Help: "Log head position minus the relay checkpoint position (approximate: positions have gaps)."}),
		relayDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chat_relay_delay_seconds",
			Help:    "From the recording of a batch's oldest event to the batch's publication on chat.events (recorded_at has millisecond precision).",
			Buckets: delayBuckets}),
		leader: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "chat_leader",
			Help: "1 while this node holds the lock of a one-per-deployment task (relay, projections, sealer)."}, []string{"lock"}),
	}
	reg.MustRegister(m.batches, m.events, m.updates, m.errors, m.badEntries, m.relayLag, m.relayDelay, m.leader)
	return m
}

func (m *Metrics) published(events int, oldest time.Time) {
	if m != nil {
		m.batches.Inc()
		m.events.Add(float64(events))
		m.relayDelay.Observe(time.Since(oldest).Seconds())
	}
}

func (m *Metrics) publishedUpdates(n int) {
	if m != nil {
		m.updates.Add(float64(n))
	}
}

func (m *Metrics) busError(op string) {
	if m != nil {
		m.errors.WithLabelValues(op).Inc()
	}
}

func (m *Metrics) badEntry() {
	if m != nil {
		m.badEntries.Inc()
	}
}

func (m *Metrics) lag(events int64) {
	if m != nil {
		m.relayLag.Set(float64(events))
	}
}

// Leading records whether this node holds lock.
func (m *Metrics) Leading(lock string, held bool) {
	if m != nil {
		v := 0.0
		if held {
			v = 1
		}
		m.leader.WithLabelValues(lock).Set(v)
	}
}
