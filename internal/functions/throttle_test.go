package functions

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// countingObserver counts throttles and invocations by function.
type countingObserver struct {
	mu          sync.Mutex
	throttles   map[string]int
	invocations map[string]int
}

func newCountingObserver() *countingObserver {
	return &countingObserver{throttles: map[string]int{}, invocations: map[string]int{}}
}

func (o *countingObserver) Invocation(fn string, _ bool, _ time.Duration) {
	o.mu.Lock()
	o.invocations[fn]++
	o.mu.Unlock()
}
func (o *countingObserver) Running(string, int)              {}
func (o *countingObserver) Batch(string, int, string, int64) {}
func (o *countingObserver) Throttle(fn string) {
	o.mu.Lock()
	o.throttles[fn]++
	o.mu.Unlock()
}

func (o *countingObserver) counts(fn string) (throttles, invocations int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.throttles[fn], o.invocations[fn]
}

func wantThrottled(t *testing.T, err error) {
	t.Helper()
	var de *Error
	if !errors.As(err, &de) || de.Kind != KindThrottled {
		t.Fatalf("got %v, want a throttle", err)
	}
}

// TestThrottlesCounted: reserved concurrency 0 refuses every invocation,
// synchronous or queued, and each refusal is a throttle (not an
// invocation), as CloudWatch counts them.
func TestThrottlesCounted(t *testing.T) {
	obs := newCountingObserver()
	s := New(Config{Account: "000000000000", Observer: obs, Logger: slog.New(slog.DiscardHandler)}, newMemMeta())
	defer s.Close()
	ctx := context.Background()
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	if _, err := s.Create(ctx, sc, CreateInput{Name: "jq", Runtime: RuntimeJQ, Handler: "t.jq", ZipFile: zipBytes(t, map[string]string{"t.jq": "."})}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetConcurrency(ctx, sc, "jq", ptr(0)); err != nil {
		t.Fatal(err)
	}
	_, err := s.Invoke(ctx, sc, "jq", []byte(`{}`), InvokeOptions{RefuseWhenBusy: true})
	wantThrottled(t, err)
	_, err = s.Invoke(ctx, sc, "jq", []byte(`{}`), InvokeOptions{})
	wantThrottled(t, err)
	wantThrottled(t, s.Enqueue(ctx, sc, "jq", []byte(`{}`)))
	if th, inv := obs.counts("jq"); th != 3 || inv != 0 {
		t.Fatalf("throttles %d, invocations %d; want 3 and 0", th, inv)
	}
}

// TestThrottleWhenEveryProcessIsBusy: with reserved concurrency 1 and its
// process busy, a synchronous invocation is refused at once (Lambda's
// 429), while an internal caller (an event source mapping, the async
// queue) waits for the process; the function's timeout starts only once
// it has one, so waiting is no timeout. Both count a throttle.
func TestThrottleWhenEveryProcessIsBusy(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed (functions.md §5: tests needing it fail when it is missing)")
	}
	obs := newCountingObserver()
	s := New(Config{Account: "000000000000", Observer: obs, Exec: true, CodeDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}, newMemMeta())
	defer s.Close()
	ctx := context.Background()
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	code := zipBytes(t, map[string]string{"app.py": "import time\ndef handler(e, c):\n    time.sleep(e.get('sleep', 0))\n    return {'ok': True}\n"})
	if _, err := s.Create(ctx, sc, CreateInput{Name: "slow", Runtime: "python3.11", Handler: "app.handler", ZipFile: code, Timeout: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetConcurrency(ctx, sc, "slow", ptr(1)); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Invoke(ctx, sc, "slow", []byte(`{}`), InvokeOptions{}); err != nil || res.FunctionError != "" { // warm
		t.Fatalf("warm-up: %v %s", err, res.Payload)
	}
	busy := make(chan Result, 1)
	go func() {
		res, _ := s.Invoke(ctx, sc, "slow", []byte(`{"sleep":1.2}`), InvokeOptions{})
		busy <- res
	}()
	waitFor(t, "the slow invocation to hold the process", func() bool {
		s.poolsMu.Lock()
		defer s.poolsMu.Unlock()
		for _, p := range s.pools {
			return len(p.slots) == 1
		}
		return false
	})
	_, err := s.Invoke(ctx, sc, "slow", []byte(`{}`), InvokeOptions{RefuseWhenBusy: true})
	wantThrottled(t, err)
	start := time.Now()
	res, err := s.Invoke(ctx, sc, "slow", []byte(`{"sleep":1}`), InvokeOptions{}) // waits ~1.2 s, then runs 1 s: within its 2 s once started
	if err != nil || res.FunctionError != "" || time.Since(start) < 2*time.Second {
		t.Fatalf("waiting invocation: %v %s after %v", err, res.Payload, time.Since(start))
	}
	if r := <-busy; r.FunctionError != "" {
		t.Fatalf("slow invocation: %s", r.Payload)
	}
	if th, inv := obs.counts("slow"); th != 2 || inv != 3 {
		t.Fatalf("throttles %d, invocations %d; want 2 and 3", th, inv)
	}
}

// TestEventSourceMappingRetriesThrottles: a throttled batch is retried
// without counting an attempt (MaximumRetryAttempts 0 gives up no record)
// and delivered once the function accepts invocations again.
func TestEventSourceMappingRetriesThrottles(t *testing.T) {
	var mu sync.Mutex
	got := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		mu.Lock()
		got++
		mu.Unlock()
		io.WriteString(w, "null")
	}))
	defer srv.Close()
	obs := newCountingObserver()
	src := newFakeSource("shardId-000000000000")
	src.add("shardId-000000000000", time.Now(), "1")
	s := New(Config{Account: "000000000000", Observer: obs, Streams: src, Logger: slog.New(slog.DiscardHandler)}, newMemMeta())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; s.Close() }()
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	if _, err := s.Create(ctx, sc, CreateInput{Name: "fn", PackageType: "Image", ImageURI: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetConcurrency(ctx, sc, "fn", ptr(0)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the service to run", func() bool { s.runMu.Lock(); defer s.runMu.Unlock(); return s.runCtx != nil })
	if _, err := s.CreateMapping(ctx, sc, MappingInput{FunctionName: "fn", EventSourceARN: testStream, StartingPosition: "TRIM_HORIZON",
		MaximumRetryAttempts: ptr(0)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "throttles", func() bool { th, _ := obs.counts("fn"); return th >= 3 })
	if _, err := s.SetConcurrency(ctx, sc, "fn", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the record", func() bool { mu.Lock(); defer mu.Unlock(); return got == 1 })
	if _, inv := obs.counts("fn"); inv != 1 {
		t.Fatalf("%d invocations, want 1", inv)
	}
}
