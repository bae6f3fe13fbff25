package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestMetricsAnOperatorNeeds checks /metrics exposes the series the README
// tells operators to watch, with the requests just made counted.
func TestMetricsAnOperatorNeeds(t *testing.T) {
	eachMode(t, func(t *testing.T, d deployment) {
		n := d.start(t)
		n.admin()
		for range 12 { // the default per-address log-in burst is 30; the per-user one 10
			n.call("POST", "/api/login", "", map[string]string{"username": "admin", "password": "wrong-password"})
		}
		body := string(n.must(http.StatusOK, "GET", "/metrics", "", nil).Raw)
		for _, want := range []string{
			`chat_http_requests_total{code="201",route="POST /api/register"} 1`,
			`chat_rate_limited_total{route="POST /api/login"}`,
			`chat_http_request_seconds_bucket{route="POST /api/login"`,
			"chat_ws_connections 0",
			"chat_append_seconds_bucket",
			"chat_bus_published_events_total",
			"chat_projection_lag_events{projection=\"history\"}",
			"chat_relay_delay_seconds_bucket",
			"chat_projection_delay_seconds_bucket{projection=\"approval\"",
			"go_goroutines",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}
