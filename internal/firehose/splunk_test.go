package firehose

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// hecFake is a Splunk HTTP Event Collector with indexer acknowledgement on,
// checking every field of Firehose's requests and answering with HEC's
// documented shapes and status codes (Splunk's "Troubleshoot HTTP Event
// Collector": code 2/401 token required, 4/403 invalid token, 6/400 invalid
// data format, 10/400 data channel missing, 12/400 event field required).
type hecFake struct {
	t        *testing.T
	token    string // the valid token
	endpoint string // "raw" or "event"

	mu       sync.Mutex
	channel  string         // the one channel the stream uses
	nextAck  int64          // next ackId (per channel, from 0)
	polls    map[int64]int  // ackId → ack queries answered so far
	acked    map[int64]bool // ackIds answered true
	bodies   map[int64]string
	sends    int  // to the raw or event endpoint
	requests int  // all, refused ones included
	ackDelay int  // answer false to this many queries of an ackId first
	neverAck bool // never answer true (an ack timeout)
}

func newHECFake(t *testing.T, endpoint string) (*hecFake, *httptest.Server) {
	f := &hecFake{t: t, token: "11111111-2222-3333-4444-555555555555", endpoint: endpoint,
		polls: map[int64]int{}, acked: map[int64]bool{}, bodies: map[int64]string{}}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	return f, hs
}

func (f *hecFake) fail(format string, args ...any) {
	f.t.Errorf("HEC fake: "+format, args...)
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *hecFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost {
		f.fail("method %s", r.Method)
		answer(w, 405, map[string]any{"text": "Method not allowed", "code": 6})
		return
	}
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "":
		answer(w, 401, map[string]any{"text": "Token is required", "code": 2})
		return
	case !strings.HasPrefix(auth, "Splunk "):
		answer(w, 401, map[string]any{"text": "Invalid authorization", "code": 3})
		return
	case auth != "Splunk "+f.token:
		answer(w, 403, map[string]any{"text": "Invalid token", "code": 4})
		return
	}
	ch := r.Header.Get("X-Splunk-Request-Channel")
	if ch == "" {
		f.fail("no X-Splunk-Request-Channel")
		answer(w, 400, map[string]any{"text": "Data channel is missing", "code": 10})
		return
	}
	if _, err := uuid.Parse(ch); err != nil {
		f.fail("channel %q is not a GUID", ch)
		answer(w, 400, map[string]any{"text": "Invalid data channel", "code": 11})
		return
	}
	if f.channel == "" {
		f.channel = ch
	} else if ch != f.channel {
		f.fail("channel changed from %s to %s", f.channel, ch)
	}
	switch r.URL.Path {
	case "/services/collector/" + f.endpoint:
		f.sends++
		if len(body) == 0 {
			answer(w, 400, map[string]any{"text": "No data", "code": 5})
			return
		}
		if f.endpoint == "event" {
			// The event endpoint takes HEC event objects, one after another.
			dec := json.NewDecoder(bytes.NewReader(body))
			for dec.More() {
				var ev map[string]any
				if err := dec.Decode(&ev); err != nil {
					answer(w, 400, map[string]any{"text": "Invalid data format", "code": 6, "invalid-event-number": 0})
					return
				}
				if _, ok := ev["event"]; !ok {
					answer(w, 400, map[string]any{"text": "Event field is required", "code": 12, "invalid-event-number": 0})
					return
				}
			}
		}
		id := f.nextAck
		f.nextAck++
		f.bodies[id] = string(body)
		answer(w, 200, map[string]any{"text": "Success", "code": 0, "ackId": id})
	case "/services/collector/ack":
		var q struct {
			Acks []int64 `json:"acks"`
		}
		if err := json.Unmarshal(body, &q); err != nil || len(q.Acks) == 0 {
			f.fail("ack query body %q", body)
			answer(w, 400, map[string]any{"text": "Invalid data format", "code": 6})
			return
		}
		out := map[string]bool{}
		for _, id := range q.Acks {
			if _, ok := f.bodies[id]; !ok {
				f.fail("ack query for unknown ackId %d", id)
			}
			f.polls[id]++
			done := !f.neverAck && f.polls[id] > f.ackDelay
			if done {
				f.acked[id] = true
			}
			out[strconv.FormatInt(id, 10)] = done
		}
		answer(w, 200, map[string]any{"acks": out})
	default:
		f.fail("path %s", r.URL.Path)
		answer(w, 404, map[string]any{"text": "The requested URL was not found on this server.", "code": 404})
	}
}

// indexed returns the bodies acknowledged, in ackId order.
func (f *hecFake) indexed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := int64(0); id < f.nextAck; id++ {
		if f.acked[id] {
			out = append(out, f.bodies[id])
		}
	}
	return out
}

func (f *hecFake) counts() (sends, acked int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sends, len(f.acked)
}

// fastSplunk shortens the ack poll, the ack timeout unit (180 × 2 ms) and
// the first backoff for a test.
func fastSplunk(t *testing.T) {
	old := splunkTiming
	splunkTiming.poll, splunkTiming.ackUnit, splunkTiming.backoff = 5*time.Millisecond, 2*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { splunkTiming = old })
}

func splunkConf(url, typ, token string, extra map[string]any) map[string]any {
	c := map[string]any{"HECEndpoint": url, "HECEndpointType": typ, "HECToken": token,
		"BufferingHints":  map[string]any{"SizeInMBs": int64(1), "IntervalInSeconds": int64(0)},
		"S3Configuration": map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::splash"}}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// runSplunk creates a Splunk delivery stream, runs the service and puts
// records.
func runSplunk(t *testing.T, conf map[string]any, records ...string) (*Service, *memObjects) {
	t.Helper()
	svc, objs := newTestService(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "logs", Destinations: map[string]map[string]any{DestSplunk: conf}}); err != nil {
		t.Fatal(err)
	}
	var data [][]byte
	for _, r := range records {
		data = append(data, []byte(r))
	}
	if _, _, err := svc.Put(ctx, Scope{}, "logs", data); err != nil {
		t.Fatal(err)
	}
	return svc, objs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitCheckpoint(t *testing.T, svc *Service, next uint64) {
	t.Helper()
	waitFor(t, "the checkpoint", func() bool {
		ck, _, _ := svc.loadCheckpoint(context.Background(), Scope{Account: "111122223333", Region: "us-east-1"}, "logs")
		return ck.Next == next
	})
}

// TestSplunkRawDeliveryWithAcks: a batch is posted to the raw endpoint as
// the records concatenated, with the token and the stream's channel, and is
// delivered once its ackId is acknowledged; nothing goes to S3.
func TestSplunkRawDeliveryWithAcks(t *testing.T) {
	fastSplunk(t)
	f, hs := newHECFake(t, "raw")
	svc, objs := runSplunk(t, splunkConf(hs.URL+"/", "Raw", f.token, nil), "line one\n", "line two\n")
	waitCheckpoint(t, svc, 2)
	if got := f.indexed(); len(got) != 1 || got[0] != "line one\nline two\n" {
		t.Errorf("indexed %q", got)
	}
	if sends, _ := f.counts(); sends != 1 {
		t.Errorf("%d sends, want 1", sends)
	}
	m, _, _ := svc.get(context.Background(), Scope{}, "logs")
	if f.channel != splunkChannel(m) {
		t.Errorf("channel %s, want the stream's %s", f.channel, splunkChannel(m))
	}
	if n := len(objs.snapshot()); n != 0 {
		t.Errorf("%d objects in S3 with FailedEventsOnly and no failure", n)
	}
}

// TestSplunkEventDelayedAcks: acks answered false for a while are polled
// until true within the timeout; the batch is sent once, not retried.
func TestSplunkEventDelayedAcks(t *testing.T) {
	fastSplunk(t)
	f, hs := newHECFake(t, "event")
	f.ackDelay = 5
	events := []string{`{"event":{"msg":"a"},"sourcetype":"_json"}`, `{"event":"b","host":"h1"}`}
	svc, objs := runSplunk(t, splunkConf(hs.URL, "Event", f.token, nil), events...)
	waitCheckpoint(t, svc, 2)
	if got := f.indexed(); len(got) != 1 || got[0] != strings.Join(events, "") {
		t.Errorf("indexed %q", got)
	}
	f.mu.Lock()
	polls := f.polls[0]
	f.mu.Unlock()
	if sends, _ := f.counts(); sends != 1 || polls != 6 {
		t.Errorf("%d sends and %d ack queries, want 1 and 6", sends, polls)
	}
	if n := len(objs.snapshot()); n != 0 {
		t.Errorf("%d objects in S3", n)
	}
}

// splunkFailed returns the splunk-failed lines written to S3.
func splunkFailed(t *testing.T, objs *memObjects) []map[string]any {
	t.Helper()
	var out []map[string]any
	for k, v := range objs.snapshot() {
		if !strings.HasPrefix(k, "splash/splunk-failed/") {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(string(v)), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("splunk-failed line %q: %v", line, err)
			}
			out = append(out, rec)
		}
	}
	return out
}

// checkFailedLines checks the documented fields of splunk-failed lines.
func checkFailedLines(t *testing.T, lines []map[string]any, code string, attempts int, records ...string) {
	t.Helper()
	if len(lines) != len(records) {
		t.Fatalf("%d splunk-failed lines, want %d: %v", len(lines), len(records), lines)
	}
	ids := map[string]bool{}
	for _, l := range lines {
		for _, k := range []string{"attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage", "attemptEndingTimestamp", "rawData", "EventId"} {
			if _, ok := l[k]; !ok {
				t.Errorf("line without %s: %v", k, l)
			}
		}
		if len(l) != 7 {
			t.Errorf("line with extra fields: %v", l)
		}
		raw, _ := base64.StdEncoding.DecodeString(l["rawData"].(string))
		found := false
		for _, r := range records {
			found = found || string(raw) == r
		}
		if !found {
			t.Errorf("rawData %q is none of the records", raw)
		}
		if l["errorCode"] != code || !strings.Contains(l["errorMessage"].(string), splunkErrors[code]) {
			t.Errorf("error %v: %v, want %s", l["errorCode"], l["errorMessage"], code)
		}
		if int(l["attemptsMade"].(float64)) != attempts {
			t.Errorf("attemptsMade %v, want %d", l["attemptsMade"], attempts)
		}
		arrival, ending := int64(l["arrivalTimestamp"].(float64)), int64(l["attemptEndingTimestamp"].(float64))
		if arrival <= 0 || ending < arrival || time.Since(time.UnixMilli(arrival)) > time.Minute {
			t.Errorf("timestamps: arrival %d, attempt ending %d", arrival, ending)
		}
		ids[l["EventId"].(string)] = true
	}
	if len(ids) != len(records) {
		t.Errorf("EventIds not distinct: %v", ids)
	}
}

// TestSplunkAckTimeoutRetriesThenBackup: acks that never come time out each
// attempt; attempts are retried for the retry duration (1 s, leaving the ack
// waits out), then the records go to splunk-failed with AWS's fields.
func TestSplunkAckTimeoutRetriesThenBackup(t *testing.T) {
	fastSplunk(t) // ack timeout 180 × 2 ms = 360 ms; backoff 100 ms, 200 ms, 400 ms, 800 ms
	f, hs := newHECFake(t, "raw")
	f.neverAck = true
	start := time.Now()
	svc, objs := runSplunk(t, splunkConf(hs.URL, "Raw", f.token, map[string]any{"RetryOptions": map[string]any{"DurationInSeconds": int64(1)}}),
		"r1\n", "r2\n", "r3\n")
	waitCheckpoint(t, svc, 3)
	took := time.Since(start)
	sends, _ := f.counts()
	// Backoffs 0.1+0.2+0.4 s (±15 %) and three short attempts fit in 1 s;
	// the next, 0.8 s, does not: four attempts.
	if sends < 3 || sends > 5 {
		t.Errorf("%d attempts", sends)
	}
	if took < 4*360*time.Millisecond {
		t.Errorf("gave up after %v: every attempt waits its ack timeout", took)
	}
	checkFailedLines(t, splunkFailed(t, objs), "Splunk.AckTimeout", sends, "r1\n", "r2\n", "r3\n")
	if got := f.indexed(); len(got) != 0 {
		t.Errorf("acknowledged %q", got)
	}
}

// TestSplunkInvalidTokenNoRetry: HEC's 403 {"text":"Invalid token","code":4}
// is Splunk.InvalidToken; with a retry duration of 0 there is one attempt.
func TestSplunkInvalidTokenNoRetry(t *testing.T) {
	fastSplunk(t)
	f, hs := newHECFake(t, "raw")
	svc, objs := runSplunk(t, splunkConf(hs.URL, "Raw", "wrong-token", map[string]any{"RetryOptions": map[string]any{"DurationInSeconds": int64(0)}}),
		"only\n")
	waitCheckpoint(t, svc, 1)
	lines := splunkFailed(t, objs)
	checkFailedLines(t, lines, "Splunk.InvalidToken", 1, "only\n")
	f.mu.Lock()
	if f.requests != 1 {
		t.Errorf("%d requests, want 1 (no retries)", f.requests)
	}
	f.mu.Unlock()
	if msg := lines[0]["errorMessage"].(string); !strings.Contains(msg, "Invalid token") {
		t.Errorf("message %q does not carry HEC's answer", msg)
	}
}

// TestSplunkHECUnreachable: a refused connection is Splunk.InvalidEndpoint,
// retried for the retry duration.
func TestSplunkHECUnreachable(t *testing.T) {
	fastSplunk(t)
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close()
	svc, objs := runSplunk(t, splunkConf(url, "Raw", "t", map[string]any{"RetryOptions": map[string]any{"DurationInSeconds": int64(1)}}), "x")
	waitCheckpoint(t, svc, 1)
	lines := splunkFailed(t, objs)
	if len(lines) != 1 || lines[0]["errorCode"] != "Splunk.InvalidEndpoint" || lines[0]["attemptsMade"].(float64) < 3 {
		t.Errorf("lines %v", lines)
	}
}

// TestSplunkAllEventsBackup: with AllEvents, a delivered batch is also
// written to the S3Configuration (its prefix, not splunk-failed).
func TestSplunkAllEventsBackup(t *testing.T) {
	fastSplunk(t)
	f, hs := newHECFake(t, "raw")
	conf := splunkConf(hs.URL, "Raw", f.token, map[string]any{"S3BackupMode": "AllEvents"})
	conf["S3Configuration"].(map[string]any)["Prefix"] = "all/"
	svc, objs := runSplunk(t, conf, "e1\n", "e2\n")
	waitCheckpoint(t, svc, 2)
	if got := f.indexed(); len(got) != 1 {
		t.Errorf("indexed %q", got)
	}
	snap := objs.snapshot()
	if len(snap) != 1 {
		t.Fatalf("objects %v", snap)
	}
	for k, v := range snap {
		if !strings.HasPrefix(k, "splash/all/") || !strings.Contains(k, "/logs-1-") || string(v) != "e1\ne2\n" {
			t.Errorf("backup object %s: %q", k, v)
		}
	}
}

// TestSplunkDescribe: the token is never described; AWS's defaults are.
func TestSplunkDescribe(t *testing.T) {
	svc, _ := newTestService(t, nil)
	ctx := context.Background()
	conf := map[string]any{"HECEndpoint": "https://splunk.example:8088", "HECEndpointType": "Raw", "HECToken": "secret-token",
		"S3Configuration": map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::splash"}}
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "logs", Destinations: map[string]map[string]any{DestSplunk: conf}}); err != nil {
		t.Fatal(err)
	}
	d, err := svc.Describe(ctx, Scope{}, "logs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(d)
	if bytes.Contains(b, []byte("secret-token")) || bytes.Contains(b, []byte("HECToken")) {
		t.Errorf("the token is described: %s", b)
	}
	dest := d["Destinations"].([]any)[0].(map[string]any)
	sd, _ := dest["SplunkDestinationDescription"].(map[string]any)
	if sd == nil {
		t.Fatalf("no SplunkDestinationDescription: %s", b)
	}
	want := map[string]any{"HECEndpoint": "https://splunk.example:8088", "HECEndpointType": "Raw", "S3BackupMode": "FailedEventsOnly"}
	for k, v := range want {
		if sd[k] != v {
			t.Errorf("%s = %v, want %v", k, sd[k], v)
		}
	}
	if n := intOf(sd, "HECAcknowledgmentTimeoutInSeconds"); n != 180 {
		t.Errorf("HECAcknowledgmentTimeoutInSeconds %d, want 180", n)
	}
	if ro := sd["RetryOptions"].(map[string]any); intOf(ro, "DurationInSeconds") != 300 {
		t.Errorf("RetryOptions %v", ro)
	}
	if bh := sd["BufferingHints"].(map[string]any); intOf(bh, "SizeInMBs") != 5 || intOf(bh, "IntervalInSeconds") != 60 {
		t.Errorf("BufferingHints %v", bh)
	}
	if _, ok := sd["S3DestinationDescription"].(map[string]any); !ok {
		t.Errorf("no S3DestinationDescription: %v", sd)
	}
	// An update merges: the token is kept, though never described.
	if err := svc.UpdateDestination(ctx, Scope{}, "logs", "1", DestinationID, DestSplunk, map[string]any{"HECAcknowledgmentTimeoutInSeconds": int64(300)}); err != nil {
		t.Fatal(err)
	}
	m, _, _ := svc.get(ctx, Scope{}, "logs")
	if str(m.Dest, "HECToken") != "secret-token" || intOf(m.Dest, "HECAcknowledgmentTimeoutInSeconds") != 300 {
		t.Errorf("after the update: %v", m.Dest)
	}
}

// TestSplunkValidation: AWS's ranges and enums are enforced by the domain
// too (the API checks the model's, but the domain is also called directly).
func TestSplunkValidation(t *testing.T) {
	svc, _ := newTestService(t, nil)
	base := func() map[string]any {
		return map[string]any{"HECEndpoint": "https://splunk.example:8088", "HECEndpointType": "Event", "HECToken": "t",
			"S3Configuration": map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::splash"}}
	}
	for i, c := range []struct {
		set map[string]any
		ok  bool
	}{
		{nil, true},
		{map[string]any{"HECEndpointType": "Raw"}, true},
		{map[string]any{"HECEndpointType": "Json"}, false},
		{map[string]any{"HECEndpointType": nil}, false},
		{map[string]any{"HECEndpoint": "splunk.example:8088"}, false},
		{map[string]any{"HECToken": ""}, false},
		{map[string]any{"HECAcknowledgmentTimeoutInSeconds": int64(179)}, false},
		{map[string]any{"HECAcknowledgmentTimeoutInSeconds": int64(180)}, true},
		{map[string]any{"HECAcknowledgmentTimeoutInSeconds": int64(600)}, true},
		{map[string]any{"HECAcknowledgmentTimeoutInSeconds": int64(601)}, false},
		{map[string]any{"RetryOptions": map[string]any{"DurationInSeconds": int64(7200)}}, true},
		{map[string]any{"RetryOptions": map[string]any{"DurationInSeconds": int64(7201)}}, false},
		{map[string]any{"S3BackupMode": "AllEvents"}, true},
		{map[string]any{"S3BackupMode": "AllData"}, false},
		{map[string]any{"BufferingHints": map[string]any{"SizeInMBs": int64(6)}}, false},
		{map[string]any{"BufferingHints": map[string]any{"IntervalInSeconds": int64(61)}}, false},
		{map[string]any{"BufferingHints": map[string]any{"SizeInMBs": int64(1), "IntervalInSeconds": int64(0)}}, true},
		{map[string]any{"S3Configuration": map[string]any{"BucketARN": "splash"}}, false},
	} {
		conf := base()
		for k, v := range c.set {
			if v == nil {
				delete(conf, k)
			} else {
				conf[k] = v
			}
		}
		_, err := svc.Create(context.Background(), Scope{}, CreateInput{Name: "v" + strconv.Itoa(i), Destinations: map[string]map[string]any{DestSplunk: conf}})
		if (err == nil) != c.ok {
			t.Errorf("case %d %v: %v, want ok=%v", i, c.set, err, c.ok)
		}
		if err != nil && !IsKind(err, KindInvalidArgument) {
			t.Errorf("case %d: %v is not InvalidArgument", i, err)
		}
	}
}

// TestSplunkEventNotHECJSON: records that are not HEC event objects are
// refused by the event endpoint (400, code 12 or 6): Splunk.InvalidDataFormat.
func TestSplunkEventNotHECJSON(t *testing.T) {
	fastSplunk(t)
	f, hs := newHECFake(t, "event")
	svc, objs := runSplunk(t, splunkConf(hs.URL, "Event", f.token, map[string]any{"RetryOptions": map[string]any{"DurationInSeconds": int64(0)}}),
		`{"message":"no event field"}`)
	waitCheckpoint(t, svc, 1)
	checkFailedLines(t, splunkFailed(t, objs), "Splunk.InvalidDataFormat", 1, `{"message":"no event field"}`)
}
