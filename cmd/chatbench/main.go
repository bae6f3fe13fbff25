// Command chatbench is the load generator of the chat server. It speaks
// PROTOCOL.md like any client (HTTP for set-up, WebSocket for traffic) and
// never imports the server's packages, so it tests the contract as well as
// the speed.
//
// Scenarios: idle (hold many connections, measure server memory each),
// fanout (rooms of many members, paced senders, latency, loss and
// duplicates), storm (everyone reconnects at once and resumes with after).
// It only ever targets loopback addresses, and every run is bounded in time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

type config struct {
	scenario        string
	nodes           []string // base URLs, e.g. http://127.0.0.1:8080
	localAddrs      []*net.TCPAddr
	clients         int
	rooms           int
	members         int
	senders         int
	users           int
	rate            float64
	duration        time.Duration
	deadline        time.Duration
	drain           time.Duration
	settle          time.Duration
	stormAt         time.Duration
	connectTimeout  time.Duration
	dialConcurrency int
	msgSize         int
	maxMessages     int64
	adminUser       string
	adminPassword   string
	userPrefix      string
	cpuprofile      string
}

// serverSendRate is chatd's default per-user limit of sends per second
// (adapters/ws DefaultSendRate): senders are distinct users, so the offered
// rate per sender should stay under it.
const serverSendRate = 50

const usage = `chatbench [flags] idle|fanout|storm

  idle    open --clients connections (one room each) and hold them for
          --duration; reports server memory per connection from /metrics
  fanout  --rooms rooms of --members clients each; --senders send --rate
          messages/s in total; reports throughput, latency, loss, duplicates
  storm   like fanout, then at --storm-at every client disconnects at once
          and resumes with subscribe after=<last seq>

Flags:
`

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("chatbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	nodes := fs.String("nodes", "http://127.0.0.1:8080", "comma-separated server base URLs; clients are spread over them round-robin (loopback only)")
	locals := fs.String("local-addrs", "", "comma-separated loopback source addresses (127.0.0.2,127.0.0.3) to exceed one address's ephemeral ports; also spread set-up log-ins")
	fs.IntVar(&c.clients, "clients", 0, "WebSocket connections; 0 means rooms × members")
	fs.IntVar(&c.rooms, "rooms", 10, "rooms; client i subscribes to room i % rooms")
	fs.IntVar(&c.members, "members", 10, "clients per room when --clients is 0")
	fs.IntVar(&c.senders, "senders", 20, "clients that send (fanout, storm), spread over the rooms")
	fs.IntVar(&c.users, "users", 0, "accounts the clients share (client i is user i % users); 0 means max(senders, min(clients, 20))")
	fs.Float64Var(&c.rate, "rate", 500, "target messages per second over all senders")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long traffic runs (fanout, storm) or connections are held (idle)")
	fs.DurationVar(&c.deadline, "deadline", 60*time.Second, "hard limit of the whole run, set-up included")
	fs.DurationVar(&c.drain, "drain", 5*time.Second, "grace after the last send for deliveries to arrive")
	fs.DurationVar(&c.settle, "settle", 2*time.Second, "idle: wait after connecting before reading server memory")
	fs.DurationVar(&c.stormAt, "storm-at", 0, "storm: when in the run everyone reconnects; 0 means duration/3")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 15*time.Second, "per connection: dial, upgrade and subscribed")
	fs.IntVar(&c.dialConcurrency, "dial-concurrency", 256, "connections opened at once (storm reconnects all at once regardless)")
	fs.IntVar(&c.msgSize, "size", 64, "message body size in bytes (≥ 24, ≤ 4000)")
	fs.Int64Var(&c.maxMessages, "max-messages", 5_000_000, "stop sending after this many messages")
	fs.StringVar(&c.adminUser, "admin-user", "benchadmin", "admin account; registered if the server has no users yet")
	fs.StringVar(&c.adminPassword, "admin-password", "benchadmin-password", "admin password")
	fs.StringVar(&c.userPrefix, "user-prefix", "", "prefix of the accounts this run creates (a later run with the same prefix reuses them); default random, so runs never collide")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the bench itself to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, errors.New("want exactly one scenario")
	}
	c.scenario = fs.Arg(0)
	var err error
	if c.nodes, err = parseNodes(*nodes); err != nil {
		return nil, err
	}
	if c.localAddrs, err = parseLocalAddrs(*locals); err != nil {
		return nil, err
	}
	return c, c.normalize()
}

func (c *config) normalize() error {
	switch c.scenario {
	case "idle", "fanout", "storm":
	default:
		return fmt.Errorf("unknown scenario %q: want idle, fanout or storm", c.scenario)
	}
	if c.rooms < 1 || c.members < 1 || c.senders < 0 || c.users < 0 || c.clients < 0 {
		return errors.New("--rooms and --members must be ≥ 1; --senders, --users, --clients ≥ 0")
	}
	if c.clients == 0 {
		c.clients = c.rooms * c.members
	}
	if c.clients > 1_000_000 {
		return fmt.Errorf("--clients %d: more than a million is not a test this tool runs", c.clients)
	}
	if c.scenario == "idle" {
		c.senders = 0
	}
	c.senders = min(c.senders, c.clients)
	if c.users == 0 {
		c.users = max(c.senders, min(c.clients, 20))
	}
	c.users = min(c.users, c.clients)
	if c.msgSize < 24 || c.msgSize > 4000 {
		return fmt.Errorf("--size %d: want 24..4000 (the body carries a timestamp)", c.msgSize)
	}
	if c.senders > 0 && c.rate <= 0 {
		return errors.New("--rate must be > 0")
	}
	if c.duration <= 0 || c.deadline <= 0 || c.dialConcurrency < 1 {
		return errors.New("--duration, --deadline and --dial-concurrency must be positive")
	}
	if per := c.rate / float64(max(c.senders, 1)); c.senders > 0 && per > serverSendRate {
		slog.Warn("each sender would exceed the server's default per-user send rate; expect rate_limited errors, or raise --senders",
			"per_sender", per, "server_limit", serverSendRate)
	}
	if c.duration+c.drain >= c.deadline {
		return fmt.Errorf("--duration %v plus --drain %v leave no time for set-up within --deadline %v", c.duration, c.drain, c.deadline)
	}
	if c.stormAt <= 0 {
		c.stormAt = c.duration / 3
	}
	if c.userPrefix == "" {
		c.userPrefix = fmt.Sprintf("b%06x", time.Now().UnixNano()&0xffffff)
	}
	return nil
}

// parseNodes accepts only loopback targets: the tool must never load a
// machine it was not meant to.
func parseNodes(s string) ([]string, error) {
	var out []string
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimRight(strings.TrimSpace(raw), "/")
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--nodes: %q is not an http(s) base URL", raw)
		}
		host := u.Hostname()
		if host == "localhost" {
			u.Host = strings.Replace(u.Host, "localhost", "127.0.0.1", 1)
			host = "127.0.0.1"
		}
		if !isLoopback4(host) {
			return nil, fmt.Errorf("--nodes: %s is not in 127.0.0.0/8; chatbench only loads this machine", host)
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	if len(out) == 0 {
		return nil, errors.New("--nodes: no server given")
	}
	return out, nil
}

func parseLocalAddrs(s string) ([]*net.TCPAddr, error) {
	var out []*net.TCPAddr
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if !isLoopback4(a) {
			return nil, fmt.Errorf("--local-addrs: %q is not an address in 127.0.0.0/8", a)
		}
		out = append(out, &net.TCPAddr{IP: net.ParseIP(a)})
	}
	return out, nil
}

func isLoopback4(host string) bool {
	ip := net.ParseIP(host).To4()
	return ip != nil && ip[0] == 127
}

// raiseNoFile lifts the soft open-file limit to the hard one: each
// connection is a file, and the default soft limit is far below a load test.
func raiseNoFile() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("setrlimit: %w", err)
	}
	return lim.Cur, nil
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatbench:", err)
		return 2
	}
	nofile, err := raiseNoFile()
	if err != nil {
		slog.Warn("could not raise the open-file limit", "err", err)
	}
	slog.Info("open-file limit", "nofile", nofile, "clients", cfg.clients)
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "chatbench: cpuprofile:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "chatbench: cpuprofile:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.deadline)
	defer cancel()
	// The context bounds every wait; this bounds whatever might ignore it.
	watchdog := time.AfterFunc(cfg.deadline+15*time.Second, func() {
		fmt.Fprintln(stderr, "chatbench: hard deadline passed; exiting")
		os.Exit(3)
	})
	defer watchdog.Stop()

	rep, err := runScenario(ctx, cfg)
	if rep != nil {
		rep.add("nofile", nofile)
		if err := rep.print(stdout); err != nil {
			fmt.Fprintln(stderr, "chatbench:", err)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatbench:", err)
		return 1
	}
	return 0
}

func runScenario(ctx context.Context, cfg *config) (*report, error) {
	a := newAPI(cfg.nodes[0], setupSources(cfg.localAddrs))
	fx, err := setup(ctx, cfg, a)
	if err != nil {
		return nil, fmt.Errorf("set-up: %w", err)
	}
	switch cfg.scenario {
	case "idle":
		return runIdle(ctx, cfg, fx, a)
	case "fanout":
		return runFanout(ctx, cfg, fx, a)
	default:
		return runStorm(ctx, cfg, fx, a)
	}
}

// setupSources are the addresses set-up requests come from. Without
// --local-addrs, a handful of loopback addresses stand in for the many
// machines real users log in from (the server limits log-ins per address).
func setupSources(locals []*net.TCPAddr) []*net.TCPAddr {
	if len(locals) > 0 {
		return locals
	}
	out := make([]*net.TCPAddr, 16)
	for i := range out {
		out[i] = &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i+1))}
	}
	return out
}
