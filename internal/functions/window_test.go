package functions

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSource is an in-memory StreamSource: one stream of shards whose
// records carry the arrival times the test gives them.
type fakeSource struct {
	mu      sync.Mutex
	shards  map[string][]SourceRecord
	changed chan struct{}
}

func newFakeSource(shards ...string) *fakeSource {
	f := &fakeSource{shards: map[string][]SourceRecord{}, changed: make(chan struct{})}
	for _, s := range shards {
		f.shards[s] = nil
	}
	return f
}

func (f *fakeSource) add(shard string, at time.Time, data string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.shards[shard]) + 1
	f.shards[shard] = append(f.shards[shard], SourceRecord{SequenceNumber: fmt.Sprintf("%056d", n), PartitionKey: "k", Data: []byte(data), ArrivalTime: at})
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeSource) Shards(context.Context, string) ([]SourceShard, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []SourceShard
	for id := range f.shards {
		out = append(out, SourceShard{ID: id})
	}
	return out, nil
}

// Iterators are "shard/position".
func (f *fakeSource) Iterator(_ context.Context, _, shard, typ, seq string, _ time.Time) (string, error) {
	pos := 0
	if typ == "AFTER_SEQUENCE_NUMBER" {
		pos, _ = strconv.Atoi(strings.TrimLeft(seq, "0"))
	}
	return shard + "/" + strconv.Itoa(pos), nil
}

func (f *fakeSource) Read(_ context.Context, it string, limit int) ([]SourceRecord, string, error) {
	shard, p, _ := strings.Cut(it, "/")
	pos, _ := strconv.Atoi(p)
	f.mu.Lock()
	defer f.mu.Unlock()
	recs := f.shards[shard][pos:]
	recs = recs[:min(len(recs), limit)]
	return append([]SourceRecord(nil), recs...), shard + "/" + strconv.Itoa(pos+len(recs)), nil
}

func (f *fakeSource) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

func (f *fakeSource) Put(context.Context, string, string, []byte) error { return nil }

// The fake stream has no consumers.
func (f *fakeSource) Consumer(context.Context, string) (string, string, error) { return "", "", nil }

func (f *fakeSource) ReadAs(ctx context.Context, _, it string, limit int) ([]SourceRecord, string, error) {
	return f.Read(ctx, it, limit)
}

// fakeClock is an injected clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// windowEvent is the part of a KinesisTimeWindowEvent the tests read.
type windowEvent struct {
	Records []struct {
		Kinesis struct{ Data []byte }
	}
	Window                  struct{ Start, End string }
	State                   map[string]int
	ShardID                 string `json:"shardId"`
	EventSourceARN          string `json:"eventSourceARN"`
	IsFinalInvokeForWindow  bool   `json:"isFinalInvokeForWindow"`
	IsWindowTerminatedEarly bool   `json:"isWindowTerminatedEarly"`
}

// summer is a url function that sums the records' numbers into the
// state, as a tumbling-window aggregation would; it records every event.
type summer struct {
	mu     sync.Mutex
	events []windowEvent
	// omitState, while above 0, answers without a state property.
	omitState int
}

func (h *summer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var ev windowEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	omit := h.omitState > 0
	if omit {
		h.omitState--
	}
	h.mu.Unlock()
	if omit {
		io.WriteString(w, `{"batchItemFailures":[]}`)
		return
	}
	st := map[string]int{"sum": ev.State["sum"], "count": ev.State["count"]}
	for _, rec := range ev.Records {
		n, _ := strconv.Atoi(string(rec.Kinesis.Data))
		st["sum"] += n
		st["count"]++
	}
	json.NewEncoder(w).Encode(map[string]any{"state": st})
}

// summary is one event as "start final [records] sum-in".
func (h *summer) summary() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, ev := range h.events {
		var data []string
		for _, r := range ev.Records {
			data = append(data, string(r.Kinesis.Data))
		}
		kind := "batch"
		if ev.IsFinalInvokeForWindow {
			kind = "final"
		}
		out = append(out, fmt.Sprintf("%s-%s %s [%s] sum=%d", ev.Window.Start[14:], ev.Window.End[14:], kind, strings.Join(data, " "), ev.State["sum"]))
	}
	return out
}

const testStream = "arn:aws:kinesis:us-east-1:000000000000:stream/src"

// runWindowed starts a service over meta with a window mapping (created
// when uuid is "") on src and returns it, the mapping's UUID and a stop.
func runWindowed(t *testing.T, meta *memMeta, src *fakeSource, clock *fakeClock, fnURL, uuid string, in MappingInput) (*Service, string, func()) {
	t.Helper()
	s := New(Config{Account: "000000000000", Now: clock.Now, Streams: src, Logger: slog.New(slog.DiscardHandler)}, meta)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for {
		s.runMu.Lock()
		ready := s.runCtx != nil
		s.runMu.Unlock()
		if ready {
			break
		}
		time.Sleep(time.Millisecond)
	}
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	if uuid == "" {
		if _, err := s.Create(ctx, sc, CreateInput{Name: "sum", PackageType: "Image", ImageURI: fnURL}); err != nil {
			t.Fatal(err)
		}
		in.FunctionName, in.EventSourceARN, in.StartingPosition = "sum", testStream, "TRIM_HORIZON"
		m, err := s.CreateMapping(ctx, sc, in)
		if err != nil {
			t.Fatal(err)
		}
		uuid = m.UUID
	}
	return s, uuid, func() { cancel(); <-done; s.Close() }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWindowStart(t *testing.T) {
	for _, c := range []struct {
		sec, w, closed, want int64
	}{
		{0, 10, 0, 0}, {9, 10, 0, 0}, {10, 10, 0, 10}, {125, 60, 0, 120}, {1607497475, 120, 0, 1607497440},
		{19, 10, 20, 20}, // a late record joins the window after the last one finished
		{-1, 10, -100, -10},
	} {
		if got := windowStart(time.Unix(c.sec, 0).Add(999*time.Millisecond), c.w, c.closed); got != c.want {
			t.Errorf("windowStart(%d, %d, %d) = %d, want %d", c.sec, c.w, c.closed, got, c.want)
		}
	}
}

// TestWindowEventShape: the event of a windowed batch is Lambda's
// KinesisTimeWindowEvent, members in AWS's order.
func TestWindowEventShape(t *testing.T) {
	m := &Mapping{Account: "123456789012", Region: "us-east-1", EventSourceARN: "arn:aws:kinesis:us-east-1:123456789012:stream/lambda-stream"}
	rec := SourceRecord{SequenceNumber: "49590338271490256608559692538361571095921575989136588898", PartitionKey: "1", Data: []byte("Hello, this is a test."),
		ArrivalTime: time.Unix(1607497475, 0)}
	w := &openWindow{Start: 1607497440, End: 1607497560, State: json.RawMessage(`{"1":282,"2":715}`)}
	got := string(windowEventOf(m, "arn:aws:iam::123456789012:role/lambda-role", "shardId-000000000006", []SourceRecord{rec}, w, false, false))
	want := `{"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"1","sequenceNumber":"49590338271490256608559692538361571095921575989136588898",` +
		`"data":"SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==","approximateArrivalTimestamp":1607497475},"eventSource":"aws:kinesis","eventVersion":"1.0",` +
		`"eventID":"shardId-000000000006:49590338271490256608559692538361571095921575989136588898","eventName":"aws:kinesis:record",` +
		`"invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role","awsRegion":"us-east-1","eventSourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/lambda-stream"}],` +
		`"window":{"start":"2020-12-09T07:04:00Z","end":"2020-12-09T07:06:00Z"},"state":{"1":282,"2":715},"shardId":"shardId-000000000006",` +
		`"eventSourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/lambda-stream","isFinalInvokeForWindow":false,"isWindowTerminatedEarly":false}`
	if got != want {
		t.Fatalf("event\n got %s\nwant %s", got, want)
	}
	final := string(windowEventOf(m, "arn:aws:iam::123456789012:role/lambda-role", "shardId-000000000006", nil, w, true, false))
	if !strings.HasPrefix(final, `{"Records":[],`) || !strings.HasSuffix(final, `"isFinalInvokeForWindow":true,"isWindowTerminatedEarly":false}`) {
		t.Fatalf("final event %s", final)
	}
	for payload, want := range map[string]string{`{"state":{"a": 1}}`: `{"a":1}`, `{"state":null}`: `{}`, `{"batchItemFailures":[]}`: "-", `null`: "-", `[1]`: "-"} {
		st, ok := responseState([]byte(payload))
		if got := string(st); (!ok && want != "-") || (ok && got != want) {
			t.Errorf("responseState(%s) = %s %v, want %s", payload, got, ok, want)
		}
	}
}

// TestTumblingWindowBoundariesAndFinalInvoke: records spread over three
// 10-second windows reach the function window by window, each batch with
// the state the previous one returned; a record of a later window ends
// the open one with a final invocation (no records, the final state), and
// the clock passing the last window's end ends it too.
func TestTumblingWindowBoundariesAndFinalInvoke(t *testing.T) {
	fn := &summer{}
	srv := httptest.NewServer(fn)
	defer srv.Close()
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	src := newFakeSource("shardId-000000000000")
	for _, r := range []struct {
		sec int
		v   string
	}{{1, "1"}, {2, "2"}, {3, "3"}, {12, "10"}, {15, "20"}, {25, "100"}} {
		src.add("shardId-000000000000", base.Add(time.Duration(r.sec)*time.Second), r.v)
	}
	clock := &fakeClock{t: base.Add(100 * time.Second)}
	meta := newMemMeta()
	s, uuid, stop := runWindowed(t, meta, src, clock, srv.URL, "", MappingInput{BatchSize: ptr(2), TumblingWindowInSeconds: ptr(10)})
	defer stop()
	want := []string{
		"00:00Z-00:10Z batch [1 2] sum=0",
		"00:00Z-00:10Z batch [3] sum=3",
		"00:00Z-00:10Z final [] sum=6",
		"00:10Z-00:20Z batch [10] sum=0",
		"00:10Z-00:20Z batch [20] sum=10",
		"00:10Z-00:20Z final [] sum=30",
		"00:20Z-00:30Z batch [100] sum=0",
		"00:20Z-00:30Z final [] sum=100",
	}
	waitFor(t, "the last window's final invocation", func() bool { return len(fn.summary()) >= len(want) })
	if got := fn.summary(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	fn.mu.Lock()
	ev := fn.events[2]
	fn.mu.Unlock()
	if ev.ShardID != "shardId-000000000000" || ev.EventSourceARN != testStream || ev.IsWindowTerminatedEarly {
		t.Fatalf("final event %+v", ev)
	}
	waitFor(t, "the checkpoint to drop the window", func() bool {
		c := s.loadCheckpoint(context.Background(), uuid, "shardId-000000000000")
		return c.Window == nil && c.Closed == base.Unix()+30 && c.Seq == fmt.Sprintf("%056d", 6)
	})
}

// TestTumblingWindowStateSurvivesRestart: the open window's state is
// stored with the checkpoint, so a restarted service goes on with it; a
// response without a state property fails the batch, which is retried with
// the state it had; the clock passing the window's end (plus the grace)
// makes the final invocation with every record's sum.
func TestTumblingWindowStateSurvivesRestart(t *testing.T) {
	fn := &summer{}
	srv := httptest.NewServer(fn)
	defer srv.Close()
	base := time.Date(2020, 1, 1, 0, 1, 0, 0, time.UTC)
	src := newFakeSource("shardId-000000000000")
	src.add("shardId-000000000000", base.Add(time.Second), "1")
	src.add("shardId-000000000000", base.Add(2*time.Second), "2")
	clock := &fakeClock{t: base.Add(5 * time.Second)}
	meta := newMemMeta()
	s, uuid, stop := runWindowed(t, meta, src, clock, srv.URL, "", MappingInput{TumblingWindowInSeconds: ptr(30)})
	waitFor(t, "the first batch's state in the checkpoint", func() bool {
		c := s.loadCheckpoint(context.Background(), uuid, "shardId-000000000000")
		return c.Window != nil && string(c.Window.State) == `{"count":2,"sum":3}` && c.Window.Start == base.Unix() && c.Window.End == base.Unix()+30
	})
	stop() // a crash after the checkpoint: what is stored is all that is left
	fn.mu.Lock()
	fn.omitState = 1
	fn.mu.Unlock()
	src.add("shardId-000000000000", base.Add(7*time.Second), "4")
	_, _, stop = runWindowed(t, meta, src, clock, srv.URL, uuid, MappingInput{})
	defer stop()
	waitFor(t, "the record after the restart", func() bool { return len(fn.summary()) >= 3 })
	time.Sleep(50 * time.Millisecond) // no final invocation before the window's end
	clock.Set(base.Add(30*time.Second + windowGrace))
	want := []string{
		"01:00Z-01:30Z batch [1 2] sum=0",
		"01:00Z-01:30Z batch [4] sum=3", // answered without a state: failed
		"01:00Z-01:30Z batch [4] sum=3", // retried with the same state
		"01:00Z-01:30Z final [] sum=7",
	}
	waitFor(t, "the final invocation", func() bool { return len(fn.summary()) >= len(want) })
	if got := fn.summary(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func ptr[T any](v T) *T { return &v }
