package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatlog/chat/cmd/internal/testenv"
)

// ctlStore is one store chatctl and chatd share in a test: flags for each.
type ctlStore struct {
	name      string
	flags     []string // chatctl's and chatd's store flags
	chatdOnly []string // chatd's Redis flags in production
}

// eachStore runs test on a fresh embedded store, then on a fresh
// PostgreSQL database (with a Redis prefix for chatd).
func eachStore(t *testing.T, test func(t *testing.T, s ctlStore)) {
	for _, key := range []string{"CHAT_DATABASE_URL", "CHAT_DATA_DIR", "CHAT_PASSWORD"} {
		t.Setenv(key, "") // only the flags and stdin count
	}
	t.Run("embedded", func(t *testing.T) {
		test(t, ctlStore{name: "embedded", flags: []string{"--data-dir", t.TempDir()}})
	})
	t.Run("production", func(t *testing.T) {
		db := testenv.Postgres(t)
		redisURL, prefix := testenv.Redis(t)
		test(t, ctlStore{name: "production", flags: []string{"--database-url", db},
			chatdOnly: []string{"--redis-url", redisURL, "--redis-prefix", prefix}})
	})
}

// ctl runs chatctl with stdin and returns its output.
func (s ctlStore) ctl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, append(append([]string{}, s.flags...), args...), strings.NewReader(stdin), &out)
	return out.String(), err
}

// mustCtl is ctl that fails the test on an error.
func (s ctlStore) mustCtl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := s.ctl(t, stdin, args...)
	if err != nil {
		t.Fatalf("chatctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

var (
	chatdOnce sync.Once
	chatdBin  string
	chatdErr  error
)

// buildChatd builds the server once per test run, into a folder removed
// when the tests end (TestMain).
func buildChatd(t *testing.T) string {
	t.Helper()
	chatdOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chatctl-test-")
		if err != nil {
			chatdErr = err
			return
		}
		chatdBin = filepath.Join(dir, "chatd")
		out, err := exec.Command("go", "build", "-o", chatdBin, "../chatd").CombinedOutput()
		if err != nil {
			chatdErr = &buildError{err: err, out: string(out)}
		}
	})
	if chatdErr != nil {
		t.Fatalf("build chatd: %v", chatdErr)
	}
	return chatdBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if chatdBin != "" {
		_ = os.RemoveAll(filepath.Dir(chatdBin))
	}
	os.Exit(code)
}

// startChatd runs the real server on s until the test ends and returns its
// URL, read from the line it prints once it listens.
func startChatd(t *testing.T, s ctlStore) string {
	t.Helper()
	args := append(append([]string{"--addr", "127.0.0.1:0", "--log-level", "warn"}, s.flags...), s.chatdOnly...)
	cmd := exec.Command(buildChatd(t), args...)
	cmd.Env = append(os.Environ(), "CHAT_ROLES=", "CHAT_DATABASE_URL=", "CHAT_REDIS_URL=") // only the flags count
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chatd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "open "); ok {
				found <- strings.Fields(rest)[0]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case url := <-found:
		return url
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // stderr is complete once Wait returns
		t.Fatalf("chatd did not start in 30 s:\n%s", stderr.String())
		return ""
	}
}

// api is a minimal JSON client of a chatd.
func api(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
