package ws

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the gateway. Counters are bumped once per batch where they
// can be, so the fan-out stays free of per-socket overhead.
type metrics struct {
	connections prometheus.Gauge
	parked      prometheus.Gauge
	framesIn    prometheus.Counter
	framesOut   prometheus.Counter
	writes      prometheus.Counter
	overflows   prometheus.Counter
	errors      *prometheus.CounterVec
	closes      *prometheus.CounterVec
	handshakes  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chat_ws_connections", Help: "Open WebSocket connections on this node.",
		}),
		parked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chat_ws_parked_readers", Help: "Open sockets waiting in epoll between messages, with no reader goroutine.",
		}),
		framesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_ws_frames_in_total", Help: "Client data frames received.",
		}),
		framesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_ws_frames_out_total", Help: "Frames queued to sockets.",
		}),
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_ws_writes_total", Help: "Socket writes (one system call each, carrying one or more frames).",
		}),
		overflows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_ws_queue_overflows_total", Help: "Sockets closed with 1013 because their queue overflowed.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chat_ws_errors_total", Help: "Error frames sent, by code.",
		}, []string{"code"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chat_ws_closes_total", Help: "Close frames sent by the server, by status code.",
		}, []string{"code"}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chat_ws_handshakes_total", Help: "Upgrade attempts, by result.",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.parked, m.framesIn, m.framesOut, m.writes, m.overflows, m.errors, m.closes, m.handshakes)
	}
	return m
}
