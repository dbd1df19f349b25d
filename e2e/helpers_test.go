// Package e2e holds end-to-end tests that run the real rheos binary as a
// subprocess: the AWS CLI walkthrough and the SIGKILL crash test.
package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rheos/rheos/internal/sdktest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// rheosBinary builds cmd/rheos once per test run.
func rheosBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rheos-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "rheos")
		cmd := exec.Command("go", "build", "-o", binPath, "../cmd/rheos")
		cmd.Stderr = os.Stderr
		buildErr = cmd.Run()
	})
	if buildErr != nil {
		t.Fatalf("building rheos: %v", buildErr)
	}
	return binPath
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running server subprocess.
type proc struct {
	cmd   *exec.Cmd
	addr  string
	admin string // health and metrics
	done  chan struct{}
}

// startServer runs `rheos serve` on dataDir and waits until it answers.
func startServer(t testing.TB, dataDir, addr string) *proc {
	t.Helper()
	return startServerWith(t, dataDir, addr, nil)
}

// startServerWith starts the server with extra flags and environment.
// Health and metrics are on their own loopback port (p.admin) unless flags
// name one: with --auth verify the API port does not serve them, and the
// default admin port (9566) would collide between tests.
func startServerWith(t testing.TB, dataDir, addr string, env []string, flags ...string) *proc {
	t.Helper()
	admin := ""
	for i, f := range flags {
		if f == "--admin-addr" && i+1 < len(flags) {
			admin = flags[i+1]
		}
	}
	if admin == "" {
		admin = freePort(t)
		flags = append([]string{"--admin-addr", admin}, flags...)
	}
	args := append([]string{"serve", "--addr", addr, "--data-dir", dataDir, "--create-delay", "50ms", "--delete-delay", "50ms", "--log-level", "warn"}, flags...)
	cmd := exec.Command(rheosBinary(t), args...)
	cmd.Env = append(append(os.Environ(), matrixEnv(dataDir)...), env...)
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(dataDir), filepath.Base(dataDir)+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, addr: addr, admin: admin, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + admin + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("server exited early: %v", cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("server on %s did not become healthy", addr)
	return nil
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) terminate(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop on SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("server exited with %d after SIGTERM", code)
	}
}

func client(addr string) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + addr),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		// No SDK-side retries: the tests must see every failure.
		RetryMaxAttempts: 1,
		HTTPClient:       sdktest.HTTPClient(nil),
	})
}

func createStream(t *testing.T, c *kinesis.Client, name string, shards int32) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	w := kinesis.NewStreamExistsWaiter(c, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = 100 * time.Millisecond
	})
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, 20*time.Second); err != nil {
		t.Fatal(fmt.Errorf("waiting for %s: %w", name, err))
	}
}
