// Command chatd is the chat server: the HTTP API, the WebSocket gateway,
// the relay and the projections, in whichever mix CHAT_ROLES asks for.
//
// With no configuration it runs embedded (SQLite under ./data, in-process
// bus); with CHAT_DATABASE_URL and CHAT_REDIS_URL it runs on PostgreSQL and
// Redis Streams, and any number of nodes may share them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg, err := ParseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chatd:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The collector is the process's, so its policies run here, not per Main.
	go keepHeapFloor(ctx, cfg.HeapFloor, 100*time.Millisecond)
	go returnIdleMemory(ctx, idleCheckEvery, quietAllocs, idleHeap)

	m := NewMain(cfg)
	if err := m.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "chatd:", err)
		os.Exit(1)
	}
	fmt.Printf("chatd is running: open %s in your browser (Ctrl+C stops it)\n", m.URL())
	<-ctx.Done()
	stop()
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "chatd: shutdown:", err)
		os.Exit(1)
	}
}
