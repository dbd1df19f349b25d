package functions

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAsyncInvocationRetriesAndSurvivesRestart: an Event invocation is
// stored before Enqueue returns, survives a restart of the service (a new
// Service over the same store delivers it), and a function error is retried
// twice, spaced by the retry delay, before it is given up.
func TestAsyncInvocationRetriesAndSurvivesRestart(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	failFirst := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, string(b))
		fail := strings.Contains(string(b), "fail-always") || strings.Contains(string(b), "fail-twice") && failFirst < 2
		if strings.Contains(string(b), "fail-twice") {
			failFirst++
		}
		mu.Unlock()
		if fail {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			io.WriteString(w, `{"errorMessage":"no","errorType":"Error"}`)
			return
		}
		io.WriteString(w, "null")
	}))
	defer srv.Close()
	meta := newMemMeta()
	cfg := Config{Account: "000000000000", Logger: slog.New(slog.DiscardHandler), AsyncRetryDelay: 20 * time.Millisecond}
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	ctx := context.Background()
	s := New(cfg, meta)
	if _, err := s.Create(ctx, sc, CreateInput{Name: "f", PackageType: "Image", ImageURI: srv.URL}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{`"first"`, `"fail-twice"`, `"fail-always"`} {
		if err := s.Enqueue(ctx, sc, "f", []byte(ev)); err != nil {
			t.Fatal(err)
		}
	}
	// No runner yet: a new service over the same store (a restart) runs them.
	s2 := New(cfg, meta)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s2.RunAsync(rctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		count := map[string]int{}
		for _, c := range calls {
			count[c]++
		}
		mu.Unlock()
		queued := 0
		meta.Scan(ctx, prefixAsync, func(string, []byte, uint64) error { queued++; return nil })
		if count[`"first"`] == 1 && count[`"fail-twice"`] == 3 && count[`"fail-always"`] == 3 && queued == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls %v, %d still queued; want first ×1, fail-twice ×3 (2 failures, then success), fail-always ×3 (then given up)", count, queued)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
