package firehose

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func init() { searchBackoff = 5 * time.Millisecond } // tests only: no second-long waits

// bulkAction is one action line as the fake cluster checks it.
type bulkAction struct {
	Index, Type, ID string
	HasType, HasID  bool
}

// indexedDoc is a document the fake cluster stored.
type indexedDoc struct {
	bulkAction
	Doc map[string]any
}

// fakeCluster is a _bulk receiver that validates every request as
// OpenSearch/Elasticsearch would take it (POST /_bulk,
// application/x-ndjson, action and document lines in pairs, one JSON
// object per line) and answers with the documented bulk response shape:
// {"took","errors","items":[{"index":{"_index","_id","status",…,"error"?}}]}.
// answer picks each document's status (0: 201 created).
type fakeCluster struct {
	t        *testing.T
	mu       sync.Mutex
	answer   func(a bulkAction, doc map[string]any, attempt int) int
	user     string // expected basic auth, if set
	pass     string
	requests int
	attempts map[string]int // by document "msg" field
	sentIDs  map[string][]string
	indexed  []indexedDoc
	problems []string
}

func newFakeCluster(t *testing.T, answer func(bulkAction, map[string]any, int) int) (*fakeCluster, *httptest.Server) {
	f := &fakeCluster{t: t, answer: answer, attempts: map[string]int{}, sentIDs: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeCluster) fail(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

func (f *fakeCluster) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if r.Method != "POST" || r.URL.Path != "/_bulk" {
		f.fail("request %s %s, want POST /_bulk", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		f.fail("Content-Type %q", ct)
	}
	if u, p, ok := r.BasicAuth(); f.user != "" && (!ok || u != f.user || p != f.pass) {
		f.fail("basic auth %q %q %v", u, p, ok)
	} else if f.user == "" && r.Header.Get("Authorization") != "" {
		f.fail("unexpected Authorization %q", r.Header.Get("Authorization"))
	}
	var lines []string
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines)%2 != 0 {
		f.fail("odd number of NDJSON lines: %d", len(lines))
		http.Error(w, `{"error":{"type":"illegal_argument_exception"},"status":400}`, 400)
		return
	}
	var items []map[string]any
	errs := false
	for i := 0; i < len(lines); i += 2 {
		var action map[string]map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &action); err != nil || len(action) != 1 || action["index"] == nil {
			f.fail("action line %q: want exactly {\"index\":{…}}", lines[i])
			continue
		}
		var a bulkAction
		for k, v := range action["index"] {
			s, ok := v.(string)
			if !ok {
				f.fail("action field %s=%v is not a string", k, v)
			}
			switch k {
			case "_index":
				a.Index = s
			case "_type":
				a.Type, a.HasType = s, true
			case "_id":
				a.ID, a.HasID = s, true
			default:
				f.fail("unexpected action field %s", k)
			}
		}
		if a.Index == "" {
			f.fail("action without _index: %q", lines[i])
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(lines[i+1]), &doc); err != nil {
			f.fail("document line %q is not a JSON object: %v", lines[i+1], err)
		}
		key, _ := doc["msg"].(string)
		f.attempts[key]++
		if a.HasID {
			f.sentIDs[key] = append(f.sentIDs[key], a.ID)
		}
		status := 201
		if f.answer != nil {
			if s := f.answer(a, doc, f.attempts[key]); s != 0 {
				status = s
			}
		}
		id := a.ID
		if !a.HasID {
			id = fmt.Sprintf("gen-%d-%d", f.requests, i/2)
		}
		item := map[string]any{"_index": a.Index, "_id": id, "status": status}
		if a.HasType {
			item["_type"] = a.Type
		}
		switch {
		case status == 201:
			item["_version"], item["result"], item["_seq_no"], item["_primary_term"] = 1, "created", len(f.indexed), 1
			item["_shards"] = map[string]any{"total": 2, "successful": 1, "failed": 0}
			f.indexed = append(f.indexed, indexedDoc{a, doc})
		case status == 429:
			errs = true
			item["error"] = map[string]any{"type": "es_rejected_execution_exception",
				"reason": "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=0]"}
		default:
			errs = true
			item["error"] = map[string]any{"type": "mapper_parsing_exception",
				"reason":    fmt.Sprintf("failed to parse field [n] of type [long] in document with id '%s'. Preview of field's value: 'abc'", id),
				"caused_by": map[string]any{"type": "illegal_argument_exception", "reason": "For input string: \"abc\""}}
		}
		items = append(items, map[string]any{"index": item})
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{"took": 3, "errors": errs, "items": items})
}

func (f *fakeCluster) check() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.problems {
		f.t.Error("cluster: " + p)
	}
}

func (f *fakeCluster) docs() []indexedDoc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]indexedDoc(nil), f.indexed...)
}

// searchStream builds a stream of kind with dest normalized, for calling
// the destination's deliver directly with chosen arrival times.
func searchStream(t *testing.T, kind string, dest map[string]any) *streamMeta {
	t.Helper()
	d, err := normalizeDestination(kind, dest)
	if err != nil {
		t.Fatal(err)
	}
	return &streamMeta{Name: "logs", Account: "111122223333", Region: "us-east-1", Type: "DirectPut", VersionID: 1,
		LogKey: 42, DestKind: kind, Dest: d}
}

func osDest(endpoint string, extra map[string]any) map[string]any {
	d := map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "ClusterEndpoint": endpoint, "IndexName": "web",
		"S3Configuration": map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::backup", "Prefix": "os/"}}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

func batchAt(times []time.Time, data [][]byte) *batch {
	b := &batch{}
	for i, d := range data {
		b.records = append(b.records, LogRecord{Seq: uint64(100 + i), Timestamp: times[i].UnixMilli(), Data: d})
		b.bytes += len(d)
	}
	return b
}

// failedDoc is AWS's failed-document record.
type failedDoc struct {
	AttemptsMade           int     `json:"attemptsMade"`
	ArrivalTimestamp       int64   `json:"arrivalTimestamp"`
	ErrorCode              string  `json:"errorCode"`
	ErrorMessage           string  `json:"errorMessage"`
	AttemptEndingTimestamp int64   `json:"attemptEndingTimestamp"`
	EsDocumentID           *string `json:"esDocumentId"`
	EsIndexName            string  `json:"esIndexName"`
	EsTypeName             *string `json:"esTypeName"`
	RawData                string  `json:"rawData"`
}

// failedDocs reads the failed-document objects under prefix, checking
// each line has exactly the documented fields.
func failedDocs(t *testing.T, objs *memObjects, prefix string) []failedDoc {
	t.Helper()
	var out []failedDoc
	for k, v := range objs.snapshot() {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(v), "\n"), "\n") {
			var fields map[string]any
			if err := json.Unmarshal([]byte(line), &fields); err != nil {
				t.Fatalf("failed-document line %q: %v", line, err)
			}
			var keys []string
			for k := range fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if got := strings.Join(keys, ","); got != "arrivalTimestamp,attemptEndingTimestamp,attemptsMade,errorCode,errorMessage,esDocumentId,esIndexName,esTypeName,rawData" {
				t.Errorf("failed-document fields %s", got)
			}
			var fd failedDoc
			json.Unmarshal([]byte(line), &fd)
			out = append(out, fd)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ErrorCode < out[j].ErrorCode })
	return out
}

func TestOpenSearchIndexRotationNames(t *testing.T) {
	// AWS's es-index-rotation page: myindex, arrival 2016-02-25T13:00:00Z.
	at := time.Date(2016, 2, 25, 13, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		period string
		at     time.Time
		want   string
	}{
		{"NoRotation", at, "myindex"},
		{"OneHour", at, "myindex-2016-02-25-13"},
		{"OneDay", at, "myindex-2016-02-25"},
		{"OneMonth", at, "myindex-2016-02"},
		// The page's table says w08 for this date, but its note states the
		// rule (weeks start on Sunday, week 1 holds the year's first
		// Saturday), which makes it w09: Jan 1 2016 (a Friday) is in
		// w01, Sunday Feb 21 starts w09. Rheos follows the stated rule.
		{"OneWeek", at, "myindex-2016-w09"},
		{"OneWeek", time.Date(2016, 1, 2, 23, 0, 0, 0, time.UTC), "myindex-2016-w01"},   // Saturday
		{"OneWeek", time.Date(2016, 1, 3, 0, 0, 0, 0, time.UTC), "myindex-2016-w02"},    // Sunday
		{"OneWeek", time.Date(2016, 12, 31, 12, 0, 0, 0, time.UTC), "myindex-2016-w53"}, // Saturday
		{"OneWeek", time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), "myindex-2017-w01"},    // Sunday
		{"OneWeek", time.Date(2019, 12, 29, 5, 0, 0, 0, time.UTC), "myindex-2020-w01"},  // Sunday of the week of Jan 1 2020
		{"OneWeek", time.Date(2020, 8, 12, 0, 0, 0, 0, time.UTC), "myindex-2020-w33"},
		// Arrival time in UTC whatever the location.
		{"OneHour", time.Date(2016, 2, 25, 23, 30, 0, 0, time.FixedZone("x", -5*3600)), "myindex-2016-02-26-04"},
	} {
		if got := rotatedIndex("myindex", c.period, c.at); got != c.want {
			t.Errorf("%s at %s: %q, want %q", c.period, c.at, got, c.want)
		}
	}
}

// TestOpenSearchBulkPartialFailures: one _bulk per batch, index names by
// each record's arrival time, one document refused for good (400
// mapper_parsing_exception), one throttled once (429) then indexed with the
// same id, one record that is not JSON: the two failures in S3 under
// AmazonOpenSearchService-failed with the documented fields.
func TestOpenSearchBulkPartialFailures(t *testing.T) {
	now := time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Second); return now }
	svc, objs := newTestService(t, func(c *Config) { c.Now = clock })
	cluster, srv := newFakeCluster(t, func(a bulkAction, doc map[string]any, attempt int) int {
		switch doc["msg"] {
		case "bad":
			return 400
		case "busy":
			if attempt == 1 {
				return 429
			}
		}
		return 0
	})
	m := searchStream(t, DestOpenSearch, osDest(srv.URL, map[string]any{"IndexRotationPeriod": "OneDay"}))
	day1 := time.Date(2024, 3, 4, 23, 59, 59, 0, time.UTC)
	day2 := time.Date(2024, 3, 5, 0, 0, 1, 0, time.UTC)
	data := [][]byte{
		[]byte(`{"msg":"a","n":1}` + "\n"),            // a trailing delimiter is trimmed
		[]byte("{\n  \"msg\": \"b\",\n  \"n\": 2\n}"), // pretty JSON is sent on one line
		[]byte(`{"msg":"bad","n":"abc"}`),
		[]byte(`{"msg":"busy","n":4}`),
		[]byte(`not json`),
	}
	b := batchAt([]time.Time{day1, day2, day2, day1, day2}, data)
	if err := destinations[DestOpenSearch].deliver(context.Background(), svc, m, b, data); err != nil {
		t.Fatal(err)
	}
	cluster.check()
	got := map[string]indexedDoc{}
	for _, d := range cluster.docs() {
		got[d.Doc["msg"].(string)] = d
	}
	want := map[string]struct{ index, id string }{
		"a":    {"web-2024-03-04", "42-100"},
		"b":    {"web-2024-03-05", "42-101"},
		"busy": {"web-2024-03-04", "42-103"},
	}
	if len(got) != len(want) {
		t.Errorf("indexed %v", got)
	}
	for msg, w := range want {
		d := got[msg]
		if d.Index != w.index || d.ID != w.id || d.HasType {
			t.Errorf("%s indexed as %+v, want index %s id %s, no _type", msg, d.bulkAction, w.index, w.id)
		}
	}
	if ids := cluster.sentIDs["busy"]; len(ids) != 2 || ids[0] != ids[1] {
		t.Errorf("ids sent for the retried document: %v (want the same id twice)", ids)
	}
	if n := cluster.attempts["bad"]; n != 1 {
		t.Errorf("a 400 was retried: %d attempts", n)
	}
	if n := cluster.attempts["a"]; n != 1 {
		t.Errorf("an indexed document was sent again: %d attempts", n)
	}
	fds := failedDocs(t, objs, "backup/os/AmazonOpenSearchService-failed/2024/03/04/23/")
	if len(fds) != 2 {
		t.Fatalf("failed documents %+v (objects %v)", fds, keys(objs))
	}
	// Sorted by errorCode: "400" then "OS.MalformedDocument".
	bad, notJSON := fds[0], fds[1]
	if raw, _ := base64.StdEncoding.DecodeString(bad.RawData); string(raw) != `{"msg":"bad","n":"abc"}` {
		t.Errorf("rawData %q", raw)
	}
	if bad.ErrorCode != "400" || !strings.Contains(bad.ErrorMessage, "mapper_parsing_exception") || bad.AttemptsMade != 1 ||
		bad.EsDocumentID == nil || *bad.EsDocumentID != "42-102" || bad.EsIndexName != "web-2024-03-05" || bad.EsTypeName != nil ||
		bad.ArrivalTimestamp != day2.UnixMilli() || bad.AttemptEndingTimestamp < bad.ArrivalTimestamp {
		t.Errorf("failed document %+v", bad)
	}
	if raw, _ := base64.StdEncoding.DecodeString(notJSON.RawData); string(raw) != "not json" || notJSON.ErrorCode != "OS.MalformedDocument" ||
		notJSON.AttemptsMade != 0 || notJSON.EsIndexName != "web-2024-03-05" {
		t.Errorf("non-JSON record %+v", notJSON)
	}
	if n := len(objs.snapshot()); n != 1 {
		t.Errorf("FailedDocumentsOnly wrote %d objects: %v", n, keys(objs))
	}
}

func keys(objs *memObjects) []string {
	var out []string
	for k := range objs.snapshot() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOpenSearchRetryDurationThenBackup: documents the cluster keeps
// throttling are retried for RetryOptions, then backed up with the
// attempts made; a cluster that is down fails whole requests.
func TestOpenSearchRetryDurationThenBackup(t *testing.T) {
	now := time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	// Each reading of the clock moves it 20 s: a 60 s retry duration
	// allows a few attempts, whatever the real backoff.
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(20 * time.Second); return now }
	svc, objs := newTestService(t, func(c *Config) { c.Now = clock })
	cluster, srv := newFakeCluster(t, func(bulkAction, map[string]any, int) int { return 503 })
	m := searchStream(t, DestOpenSearch, osDest(srv.URL, map[string]any{"RetryOptions": map[string]any{"DurationInSeconds": int64(60)}}))
	data := [][]byte{[]byte(`{"msg":"x"}`)}
	b := batchAt([]time.Time{now}, data)
	if err := destinations[DestOpenSearch].deliver(context.Background(), svc, m, b, data); err != nil {
		t.Fatal(err)
	}
	cluster.check()
	attempts := cluster.attempts["x"]
	if attempts < 2 || attempts > 4 {
		t.Errorf("%d attempts in a 60 s retry duration", attempts)
	}
	fds := failedDocs(t, objs, "backup/os/AmazonOpenSearchService-failed/")
	if len(fds) != 1 || fds[0].AttemptsMade != attempts || fds[0].ErrorCode != "503" {
		t.Errorf("failed documents %+v", fds)
	}

	// Elasticsearch, cluster down, no retries: ES.ConnectionFailed under
	// elasticsearch-failed, with the _type of the configuration.
	srv.Close()
	objs2 := &memObjects{objects: map[string][]byte{}}
	svc.cfg.Objects = objs2
	m = searchStream(t, DestElasticsearch, osDest(srv.URL, map[string]any{"TypeName": "_doc", "IndexRotationPeriod": "NoRotation",
		"RetryOptions": map[string]any{"DurationInSeconds": int64(0)}}))
	if err := destinations[DestElasticsearch].deliver(context.Background(), svc, m, b, data); err != nil {
		t.Fatal(err)
	}
	fds = failedDocs(t, objs2, "backup/os/elasticsearch-failed/")
	if len(fds) != 1 || fds[0].ErrorCode != "ES.ConnectionFailed" || fds[0].AttemptsMade != 1 || fds[0].EsTypeName == nil ||
		*fds[0].EsTypeName != "_doc" || fds[0].EsIndexName != "web" {
		t.Errorf("failed documents %+v (objects %v)", fds, keys(objs2))
	}
}

// TestOpenSearchAllDocumentsAndAuth: with AllDocuments every batch is also
// in S3 under the S3Configuration's prefix; credentials in the endpoint's
// userinfo go as basic auth and are not described; _type is sent for old
// Elasticsearch; NO_DOCUMENT_ID sends no _id.
func TestOpenSearchAllDocumentsAndAuth(t *testing.T) {
	svc, objs := newTestService(t, nil)
	cluster, srv := newFakeCluster(t, nil)
	cluster.user, cluster.pass = "admin", "s3cret"
	ep := strings.Replace(srv.URL, "http://", "http://admin:s3cret@", 1)
	m := searchStream(t, DestElasticsearch, osDest(ep, map[string]any{"S3BackupMode": "AllDocuments", "TypeName": "log",
		"DocumentIdOptions": map[string]any{"DefaultDocumentIdFormat": "NO_DOCUMENT_ID"}, "IndexRotationPeriod": "OneMonth"}))
	data := [][]byte{[]byte(`{"msg":"a"}` + "\n"), []byte(`{"msg":"b"}` + "\n")}
	at := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	b := batchAt([]time.Time{at, at}, data)
	if err := destinations[DestElasticsearch].deliver(context.Background(), svc, m, b, data); err != nil {
		t.Fatal(err)
	}
	cluster.check()
	for _, d := range cluster.docs() {
		if d.Index != "web-2024-07" || d.HasID || !d.HasType || d.Type != "log" {
			t.Errorf("indexed as %+v", d.bulkAction)
		}
	}
	if len(cluster.docs()) != 2 {
		t.Errorf("indexed %d documents", len(cluster.docs()))
	}
	all := objs.snapshot()
	if len(all) != 1 {
		t.Fatalf("objects %v", keys(objs))
	}
	for k, v := range all {
		if !strings.HasPrefix(k, "backup/os/2024/07/01/00/logs-1-") || string(v) != "{\"msg\":\"a\"}\n{\"msg\":\"b\"}\n" {
			t.Errorf("AllDocuments object %s = %q", k, v)
		}
	}
	desc := map[string]any{}
	for k, v := range m.Dest {
		desc[k] = v
	}
	destinations[DestElasticsearch].redact(desc)
	if s := fmt.Sprint(desc["ClusterEndpoint"]); strings.Contains(s, "s3cret") || !strings.Contains(s, "admin@") {
		t.Errorf("described endpoint %s", s)
	}
}

func TestOpenSearchValidation(t *testing.T) {
	s3 := map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::backup"}
	domain := "arn:aws:es:us-east-1:111122223333:domain/logs"
	for _, c := range []struct {
		name, kind string
		dest       map[string]any
		wantErr    string
	}{
		{"domain only", DestOpenSearch, map[string]any{"DomainARN": domain, "IndexName": "i", "S3Configuration": s3}, "ClusterEndpoint is needed"},
		{"domain only (es)", DestElasticsearch, map[string]any{"DomainARN": domain, "IndexName": "i", "S3Configuration": s3}, "ClusterEndpoint is needed"},
		{"both", DestOpenSearch, map[string]any{"DomainARN": domain, "ClusterEndpoint": "https://h", "IndexName": "i", "S3Configuration": s3}, "either"},
		{"no endpoint", DestOpenSearch, map[string]any{"IndexName": "i", "S3Configuration": s3}, "ClusterEndpoint"},
		{"ftp", DestOpenSearch, map[string]any{"ClusterEndpoint": "ftp://h", "IndexName": "i", "S3Configuration": s3}, "http or https"},
		{"bad rotation", DestOpenSearch, map[string]any{"ClusterEndpoint": "https://h", "IndexName": "i", "IndexRotationPeriod": "OneYear", "S3Configuration": s3}, "IndexRotationPeriod"},
		{"no index", DestOpenSearch, map[string]any{"ClusterEndpoint": "https://h", "S3Configuration": s3}, "IndexName"},
		{"bad id format", DestOpenSearch, map[string]any{"ClusterEndpoint": "https://h", "IndexName": "i", "DocumentIdOptions": map[string]any{"DefaultDocumentIdFormat": "X"}, "S3Configuration": s3}, "DefaultDocumentIdFormat"},
		{"size", DestOpenSearch, map[string]any{"ClusterEndpoint": "https://h", "IndexName": "i", "BufferingHints": map[string]any{"SizeInMBs": int64(101)}, "S3Configuration": s3}, "SizeInMBs"},
		{"retry", DestOpenSearch, map[string]any{"ClusterEndpoint": "https://h", "IndexName": "i", "RetryOptions": map[string]any{"DurationInSeconds": int64(7201)}, "S3Configuration": s3}, "DurationInSeconds"},
		{"backup mode", DestOpenSearch, map[string]any{"ClusterEndpoint": "https://h", "IndexName": "i", "S3BackupMode": "Disabled", "S3Configuration": s3}, "S3BackupMode"},
		{"no bucket", DestOpenSearch, map[string]any{"ClusterEndpoint": "https://h", "IndexName": "i"}, "BucketARN"},
		{"serverless rotation", DestOpenSearchServerless, map[string]any{"CollectionEndpoint": "https://c", "IndexName": "i", "IndexRotationPeriod": "OneDay", "S3Configuration": s3}, "IndexRotationPeriod"},
		{"serverless no endpoint", DestOpenSearchServerless, map[string]any{"IndexName": "i", "S3Configuration": s3}, "CollectionEndpoint"},
	} {
		_, err := normalizeDestination(c.kind, c.dest)
		if err == nil || !IsKind(err, KindInvalidArgument) || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: %v, want InvalidArgument about %s", c.name, err, c.wantErr)
		}
	}
	d, err := normalizeDestination(DestOpenSearch, map[string]any{"ClusterEndpoint": "http://localhost:9200", "IndexName": "i", "S3Configuration": s3})
	if err != nil {
		t.Fatal(err)
	}
	if d["IndexRotationPeriod"] != "OneDay" || d["S3BackupMode"] != "FailedDocumentsOnly" ||
		intOf(mapOf(d, "BufferingHints"), "SizeInMBs") != 5 || intOf(mapOf(d, "BufferingHints"), "IntervalInSeconds") != 300 ||
		intOf(mapOf(d, "RetryOptions"), "DurationInSeconds") != 300 ||
		str(mapOf(d, "DocumentIdOptions"), "DefaultDocumentIdFormat") != "FIREHOSE_DEFAULT" {
		t.Errorf("defaults %v", d)
	}
	d, err = normalizeDestination(DestOpenSearchServerless, map[string]any{"CollectionEndpoint": "https://c.us-east-1.aoss.amazonaws.com", "IndexName": "i", "S3Configuration": s3})
	if err != nil || d["IndexRotationPeriod"] != nil || d["S3BackupMode"] != "FailedDocumentsOnly" {
		t.Errorf("serverless %v %v", d, err)
	}
}

// TestOpenSearchUpdateDestination: the same kind merges; switching to or
// from OpenSearch is refused, as on AWS.
func TestOpenSearchUpdateDestination(t *testing.T) {
	svc, _ := newTestService(t, nil)
	ctx := context.Background()
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "os", Destinations: map[string]map[string]any{
		DestOpenSearch: osDest("https://search.example:9200", nil)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "s3", Destinations: map[string]map[string]any{
		"ExtendedS3": {"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::lake"}}}); err != nil {
		t.Fatal(err)
	}
	err := svc.UpdateDestination(ctx, Scope{}, "os", "1", DestinationID, "ExtendedS3",
		map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::lake"})
	if !IsKind(err, KindInvalidArgument) {
		t.Errorf("OpenSearch → S3: %v", err)
	}
	err = svc.UpdateDestination(ctx, Scope{}, "s3", "1", DestinationID, DestOpenSearch, osDest("https://search.example:9200", nil))
	if !IsKind(err, KindInvalidArgument) {
		t.Errorf("S3 → OpenSearch: %v", err)
	}
	err = svc.UpdateDestination(ctx, Scope{}, "os", "1", DestinationID, DestElasticsearch, osDest("https://search.example:9200", nil))
	if !IsKind(err, KindInvalidArgument) {
		t.Errorf("OpenSearch → Elasticsearch: %v", err)
	}
	if err := svc.UpdateDestination(ctx, Scope{}, "os", "1", DestinationID, DestOpenSearch,
		// S3Update is given whole: UpdateDestination replaces S3Configuration
		// with it rather than merging (a streams.go matter).
		map[string]any{"IndexName": "web2", "S3Update": map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r",
			"BucketARN": "arn:aws:s3:::backup", "Prefix": "p/"}}); err != nil {
		t.Fatal(err)
	}
	// Backing up every document cannot be downgraded to failed ones only.
	if err := svc.UpdateDestination(ctx, Scope{}, "os", "2", DestinationID, DestOpenSearch, map[string]any{"S3BackupMode": "AllDocuments"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.UpdateDestination(ctx, Scope{}, "os", "3", DestinationID, DestOpenSearch, map[string]any{"S3BackupMode": "FailedDocumentsOnly"}); !IsKind(err, KindInvalidArgument) {
		t.Errorf("AllDocuments → FailedDocumentsOnly: %v", err)
	}
	d, err := svc.Describe(ctx, Scope{}, "os")
	if err != nil {
		t.Fatal(err)
	}
	desc := d["Destinations"].([]any)[0].(map[string]any)["AmazonopensearchserviceDestinationDescription"].(map[string]any)
	s3 := desc["S3DestinationDescription"].(map[string]any)
	if desc["IndexName"] != "web2" || desc["ClusterEndpoint"] != "https://search.example:9200" || desc["IndexRotationPeriod"] != "OneDay" ||
		s3["Prefix"] != "p/" || s3["BucketARN"] != "arn:aws:s3:::backup" {
		t.Errorf("after update %v", desc)
	}
}

// TestOpenSearchEndToEnd: records put to a stream reach the cluster through
// the buffer and the delivery worker.
func TestOpenSearchEndToEnd(t *testing.T) {
	svc, _ := newTestService(t, nil)
	cluster, srv := newFakeCluster(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "e2e", Destinations: map[string]map[string]any{
		DestOpenSearchServerless: {"RoleARN": "arn:aws:iam::111122223333:role/r", "CollectionEndpoint": srv.URL, "IndexName": "events",
			"BufferingHints":  map[string]any{"SizeInMBs": int64(1), "IntervalInSeconds": int64(0)},
			"S3Configuration": map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::backup"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Put(ctx, Scope{}, "e2e", [][]byte{[]byte(`{"msg":"one"}`), []byte(`{"msg":"two"}`)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(cluster.docs()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	cluster.check()
	docs := cluster.docs()
	if len(docs) != 2 {
		t.Fatalf("indexed %d documents", len(docs))
	}
	for _, d := range docs {
		if d.Index != "events" || d.HasID || d.HasType { // Serverless: no rotation, no ids
			t.Errorf("indexed as %+v", d.bulkAction)
		}
	}
}
