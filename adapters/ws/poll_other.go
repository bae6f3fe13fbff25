//go:build !linux

package ws

import (
	"log/slog"
	"time"
)

// poller is Linux's epoll; elsewhere every socket keeps its reader
// goroutine, and tryPark never parks (the gateway's poller is nil).
type poller struct{}

func newPoller(time.Duration, *slog.Logger) (*poller, error) { return nil, nil }

func (p *poller) track(*conn)     {}
func (p *poller) arm(*conn) error { panic("ws: no poller on this system") }
func (p *poller) forget(*conn)    {}
func (p *poller) close()          {}
