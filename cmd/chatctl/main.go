// Command chatctl is the operators' and auditors' tool: migrations, user
// administration, the event log (export, tail, verify, replay) and the
// projections (status, rebuild). It works on either store, with the same
// CHAT_DATABASE_URL / CHAT_DATA_DIR settings as chatd.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/chatlog/chat/cmd/internal/platform"
)

const usage = `usage: chatctl [--database-url URL | --data-dir DIR] COMMAND ...

commands:
  migrate                                 apply database migrations
  users list [--status S]                 list accounts
  users create NAME [--roles admin,auditor]   create an approved account (password from CHAT_PASSWORD or stdin)
  users approve|reject|deactivate NAME    change an account's status
  users grant NAME ROLE                   grant admin or auditor
  events export [--after POS] [--stream S] [--since T] [--until T]
                                          the log as JSON Lines, hashes included
  events tail [-n N] [-f] [filters]       the last N events (default 10, 0 all); -f follows the log
  verify [--file EXPORT]                  recompute every hash chain (exit 0 only when intact);
                                          --file checks an export offline, no database needed
  replay room ID [--at TIME] [--json]     a room as it was at TIME, from the log alone
  projections status [--max-lag D]        version, checkpoint, lag and state (live, rebuilding,
                                          failed: lag over D, default 10s) of each projection
  projections rebuild NAME                rebuild NAME beside the serving version, then switch
`

// errUsage marks a command line that does not parse; main prints usage.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "chatctl:", err)
		os.Exit(1)
	}
}

// tool is one run of chatctl: its store and its output.
type tool struct {
	p   *platform.Platform
	log *slog.Logger
	in  io.Reader
	out io.Writer
}

func run(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("chatctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dbURL := fs.String("database-url", os.Getenv("CHAT_DATABASE_URL"), "PostgreSQL URL (CHAT_DATABASE_URL); empty: embedded store")
	dataDir := fs.String("data-dir", envOr("CHAT_DATA_DIR", "./data"), "embedded store folder (CHAT_DATA_DIR)")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		return errUsage
	}
	rest := fs.Args()
	if offlineVerify(rest) {
		return (&tool{in: in, out: out}).verify(ctx, rest[1:])
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := platform.Open(ctx, platform.Options{DatabaseURL: *dbURL, DataDir: *dataDir, Logger: logger})
	if err != nil {
		return err
	}
	defer p.Close()
	t := &tool{p: p, log: logger, in: in, out: out}
	switch rest[0] {
	case "migrate":
		fmt.Fprintln(out, "migrations applied")
		return nil
	case "users":
		return t.users(ctx, rest[1:])
	case "events":
		return t.events(ctx, rest[1:])
	case "verify":
		return t.verify(ctx, rest[1:])
	case "replay":
		return t.replay(ctx, rest[1:])
	case "projections":
		return t.projections(ctx, rest[1:])
	}
	return errUsage
}

// offlineVerify reports whether args verify an export file, which needs no
// store: an auditor can check a copy on a machine without the database.
func offlineVerify(args []string) bool {
	if args[0] != "verify" {
		return false
	}
	for _, a := range args[1:] {
		if a == "--file" || a == "-file" || strings.HasPrefix(a, "--file=") || strings.HasPrefix(a, "-file=") {
			return true
		}
	}
	return false
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
