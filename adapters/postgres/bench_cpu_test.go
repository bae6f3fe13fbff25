package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuMeter measures the CPU time the benchmark process and the database's
// server processes spend, so a benchmark can report CPU per event: on a box
// shared with other work, throughput swings with the neighbours' load but
// CPU per event barely does. The server processes are found through
// pg_stat_activity and read from /proc, so the PostgreSQL side is measured
// only when the server runs on this machine (otherwise it reports 0).
type cpuMeter struct {
	db     *DB
	goCPU  time.Duration
	server map[int]time.Duration
}

func startCPUMeter(tb testing.TB, db *DB) *cpuMeter {
	tb.Helper()
	m := &cpuMeter{db: db}
	m.goCPU = processCPU()
	m.server = m.serverCPU(tb)
	return m
}

// report adds go-µs/event and pg-µs/event to b's results.
func (m *cpuMeter) report(b *testing.B, events int64) {
	b.Helper()
	if events == 0 {
		return
	}
	goCPU := processCPU() - m.goCPU
	var pgCPU time.Duration
	for pid, now := range m.serverCPU(b) {
		pgCPU += now - m.server[pid] // a backend started during the run began at 0
	}
	b.ReportMetric(float64(goCPU.Microseconds())/float64(events), "go-µs/event")
	b.ReportMetric(float64(pgCPU.Microseconds())/float64(events), "pg-µs/event")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU returns the CPU time used so far by each backend serving the
// benchmark's database.
func (m *cpuMeter) serverCPU(tb testing.TB) map[int]time.Duration {
	tb.Helper()
	rows, err := m.db.pool.Query(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		tb.Fatalf("backend pids: %v", err)
	}
	defer rows.Close()
	cpu := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			tb.Fatalf("backend pids: %v", err)
		}
		if t, err := procCPU(pid); err == nil {
			cpu[pid] = t
		}
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("backend pids: %v", err)
	}
	return cpu
}

// procCPU reads the time pid has spent on a CPU, in nanoseconds, from
// /proc/<pid>/schedstat (exact, unlike the tick-sampled times of stat).
func procCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(raw))
	if len(fields) == 0 {
		return 0, fmt.Errorf("empty /proc/%d/schedstat", pid)
	}
	ns, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc/%d/schedstat: %w", pid, err)
	}
	return time.Duration(ns), nil
}
