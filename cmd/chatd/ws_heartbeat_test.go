package main

import (
	"sync"
	"testing"
	"time"
)

// TestHeartbeat: hello announces the configured heartbeat; a socket that
// sends nothing for two of them is closed (1000), one that pings is kept.
func TestHeartbeat(t *testing.T) {
	eachMode(t, func(t *testing.T, d deployment) {
		const beat = 300 * time.Millisecond
		n := d.start(t, func(c *Config) { c.Heartbeat = beat })
		token := n.admin()
		talker, silent := n.ws(token), n.ws(token)
		if got := silent.hello["heartbeat_ms"]; got != float64(beat.Milliseconds()) {
			t.Fatalf("hello heartbeat_ms = %v, want %d", got, beat.Milliseconds())
		}
		start := time.Now()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(beat / 3):
				}
				if err := gwsWriteText(talker, `{"type":"ping"}`); err != nil {
					t.Errorf("ping: %v", err)
					return
				}
			}
		})
		if code := silent.closeCode(); code != 1000 {
			t.Errorf("silent socket closed with %d, want 1000", code)
		}
		took := time.Since(start)
		close(stop)
		wg.Wait()
		if took < 2*beat-beat/2 || took > 10*beat {
			t.Errorf("silent socket closed after %v, want about two heartbeats (%v)", took, 2*beat)
		}
		talker.send(`{"type":"ping","ref":"alive"}`)
		for pong := talker.expect("pong"); pong["ref"] != "alive"; pong = talker.expect("pong") {
			// pongs of the pings above, still on their way
		}
	})
}

func TestHeartbeatConfig(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "CHAT_HEARTBEAT" {
				return v
			}
			return ""
		}
	}
	if c, err := ParseConfig(nil, env("")); err != nil || c.Heartbeat != 25*time.Second {
		t.Errorf("default heartbeat = %v, %v; want 25s (PROTOCOL.md)", c.Heartbeat, err)
	}
	if c, err := ParseConfig(nil, env("2s")); err != nil || c.Heartbeat != 2*time.Second {
		t.Errorf("CHAT_HEARTBEAT=2s gives %v, %v", c.Heartbeat, err)
	}
	for _, bad := range []string{"50ms", "soon", "-1s"} {
		if _, err := ParseConfig(nil, env(bad)); err == nil {
			t.Errorf("CHAT_HEARTBEAT=%s accepted", bad)
		}
	}
}
