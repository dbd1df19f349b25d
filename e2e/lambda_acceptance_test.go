package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLambdaAcceptance runs the acceptance tests of functions.md §5 that
// the other e2e tests do not (1: lambda_test.go, 2's Go bootstrap:
// gohandler_test.go, 10: esm_crash_test.go) against one real server started
// with --functions-exec, driven as a user drives AWS: the AWS CLI for the
// control plane and the checks users make by hand, boto3 for bulk puts and
// the answers' HTTP status codes and headers. Event source mappings
// deliver to url functions served by each subtest (on the Runtime Interface
// Emulator's path), which keep every event they are given. Subtests are
// named after the test's number in §5 and run in parallel (as many at a
// time as go test's -parallel allows, GOMAXPROCS by default).
func TestLambdaAcceptance(t *testing.T) {
	requireTools(t, "node", "python3")
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Fatal("boto3 is required (the machine image's Python has it; Debian: apt-get install python3-boto3): ", err)
	}
	clis := awsCLIs(t)
	data := filepath.Join(t.TempDir(), "data")
	p := startServerWith(t, data, freePort(t), nil, "--functions-exec")
	dumpLogOnFailure(t, data+".log")
	a := &acceptance{addr: p.addr, v2: clis["v2"], v1: clis["v1"], dir: t.TempDir()}
	// Every stream the subtests read, created at once (one Python start).
	a.boto3(t, `
k = client("kinesis")
for name, shards in json.loads(args[0]).items():
    k.create_stream(StreamName=name, ShardCount=shards)
for name in json.loads(args[0]):
    k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 200})
`, nil, string(mustJSON(map[string]int{"acc-basic": 2, "acc-crud": 1, "acc-page": 1, "acc-poison": 2, "acc-dlq": 1, "acc-rbif": 1,
		"acc-bisect": 1, "acc-pf": 1, "acc-reshard": 2, "acc-filter": 1, "acc-window": 1})))
	for _, tc := range []struct {
		name string
		run  func(*acceptance, *testing.T)
	}{
		{"02-PythonHandler", (*acceptance).pythonHandler},
		{"03-FunctionErrors", (*acceptance).functionErrors},
		{"04-MappingDelivers", (*acceptance).mappingDelivers},
		{"05-MappingAPI", (*acceptance).mappingAPI},
		{"06-PoisonToOnFailureStream", (*acceptance).poisonToOnFailure},
		{"07-PartialFailuresAndBisect", (*acceptance).partialFailuresAndBisect},
		{"08-ParallelizationFactor", (*acceptance).parallelizationFactor},
		{"09-Resharding", (*acceptance).resharding},
		{"11-FilterCriteria", (*acceptance).filterCriteria},
		{"12-TumblingWindow", (*acceptance).tumblingWindow},
		{"13-FirehoseProcessor", (*acceptance).firehoseProcessor},
		{"14-URLKindAsZipKind", (*acceptance).urlKindAsZipKind},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(a, t)
		})
	}
}

// acceptance is the server the acceptance tests share and the clients
// that drive it.
type acceptance struct {
	addr   string
	v2, v1 string // AWS CLI command lines (awsCLIs); v1 "" when absent
	dir    string // scratch files
}

const (
	accRole = "arn:aws:iam::000000000000:role/acceptance"
	// riePath is where a url function is invoked: the Runtime Interface
	// Emulator's Invoke path.
	riePath = "/2015-03-31/functions/function/invocations"
	// shard1Hash is the first hash key of a 2-shard stream's second shard.
	shard1Hash = "170141183460469231731687303715884105728"
)

func accStreamARN(name string) string { return "arn:aws:kinesis:us-east-1:000000000000:stream/" + name }

func accFunctionARN(name string) string {
	return "arn:aws:lambda:us-east-1:000000000000:function:" + name
}

// aws runs AWS CLI v2 and returns its output, failing t when it fails.
func (a *acceptance) aws(t *testing.T, args ...string) []byte {
	t.Helper()
	return runAWS(t, a.v2, a.addr, args...)
}

// awsJSON runs AWS CLI v2 and decodes its JSON output into v.
func (a *acceptance) awsJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := a.aws(t, args...)
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// awsFails runs AWS CLI v2 expecting it to fail and returns what it said.
func (a *acceptance) awsFails(t *testing.T, args ...string) string {
	t.Helper()
	argv := append(strings.Fields(a.v2), append([]string{"--endpoint-url", "http://" + a.addr, "--region", "us-east-1", "--output", "json"}, args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("aws %s succeeded, want an error:\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}

// boto3Prelude starts every boto3 script: E is the endpoint, args the
// script's arguments, client(service) a client with test credentials.
const boto3Prelude = `
import base64, json, sys, time
import boto3
E, args = sys.argv[1], sys.argv[2:]
def client(service):
    return boto3.client(service, endpoint_url=E, region_name="us-east-1",
                        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
`

// boto3 runs a Python script with boto3 against the server and returns its
// standard output, failing t when it fails.
func (a *acceptance) boto3(t *testing.T, script string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("python3", append([]string{"-c", boto3Prelude + script, "http://" + a.addr}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3 script: %v\n%s%s", err, out, stderr.Bytes())
	}
	return out
}

// accRecord is a record to put: a partition key, its data and, to pick
// the shard, an explicit hash key.
type accRecord struct {
	Key  string `json:"Key"`
	Data string `json:"Data"`
	Hash string `json:"Hash,omitempty"`
}

// accPut is where PutRecords put a record.
type accPut struct{ SequenceNumber, ShardId string }

// put puts records with boto3's PutRecords (500 a call, in order, once the
// stream is ACTIVE) and returns their sequence numbers and shards.
func (a *acceptance) put(t *testing.T, stream string, recs []accRecord) []accPut {
	t.Helper()
	in, _ := json.Marshal(recs)
	out := a.boto3(t, `
k = client("kinesis")
k.get_waiter("stream_exists").wait(StreamName=args[0], WaiterConfig={"Delay": 0.1, "MaxAttempts": 200})
recs, out = json.load(sys.stdin), []
for i in range(0, len(recs), 500):
    entries = []
    for r in recs[i:i + 500]:
        e = {"PartitionKey": r["Key"], "Data": r["Data"].encode()}
        if r.get("Hash"):
            e["ExplicitHashKey"] = r["Hash"]
        entries.append(e)
    res = k.put_records(StreamName=args[0], Records=entries)
    assert res["FailedRecordCount"] == 0, res
    out += [{"SequenceNumber": x["SequenceNumber"], "ShardId": x["ShardId"]} for x in res["Records"]]
json.dump(out, sys.stdout)
`, in, stream)
	var puts []accPut
	if err := json.Unmarshal(out, &puts); err != nil || len(puts) != len(recs) {
		t.Fatalf("put: %v %s", err, out)
	}
	return puts
}

// urlFunction creates a url function (PackageType Image, an http ImageUri)
// with the AWS CLI.
func (a *acceptance) urlFunction(t *testing.T, name, url string, args ...string) {
	t.Helper()
	var f struct{ FunctionArn, State string }
	a.awsJSON(t, &f, append([]string{"lambda", "create-function", "--function-name", name, "--package-type", "Image",
		"--code", "ImageUri=" + url, "--role", accRole}, args...)...)
	if f.FunctionArn != accFunctionARN(name) || f.State != "Active" {
		t.Fatalf("create-function %s: %+v", name, f)
	}
}

// createMapping creates an event source mapping (TRIM_HORIZON) with the
// AWS CLI and returns its answer.
func (a *acceptance) createMapping(t *testing.T, function, stream string, args ...string) map[string]any {
	t.Helper()
	var m map[string]any
	a.awsJSON(t, &m, append([]string{"lambda", "create-event-source-mapping", "--function-name", function,
		"--event-source-arn", accStreamARN(stream), "--starting-position", "TRIM_HORIZON"}, args...)...)
	if u, _ := m["UUID"].(string); u == "" {
		t.Fatalf("create-event-source-mapping: %v", m)
	}
	return m
}

// writeZip writes a zip of files (name → contents) and returns its path.
func (a *acceptance) writeZip(t *testing.T, name string, files map[string][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(a.dir, name+".zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readFiles reads a testdata directory's files by name.
func readFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

// eventually polls cond until it returns nil, failing t with its last
// error after within.
func eventually(t *testing.T, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// objectKeys returns a JSON object's keys in the order they were written.
func objectKeys(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return keys
}

// esmRecord is a record of the event Lambda sends for a Kinesis batch.
type esmRecord struct {
	Kinesis struct {
		KinesisSchemaVersion, PartitionKey, SequenceNumber, Data string
		ApproximateArrivalTimestamp                              float64
	}
	EventSource, EventVersion, EventID, EventName, InvokeIdentityArn, AwsRegion, EventSourceARN string
}

func (r esmRecord) data() string {
	b, _ := base64.StdEncoding.DecodeString(r.Kinesis.Data)
	return string(b)
}

func (r esmRecord) shard() string { return strings.TrimSuffix(r.EventID, ":"+r.Kinesis.SequenceNumber) }

// esmEvent is an event a url function was given, with the members a
// tumbling window adds, and how the function answered it.
type esmEvent struct {
	Records []esmRecord
	Window  *struct {
		Start, End time.Time
	} `json:"window"`
	State                   json.RawMessage `json:"state"`
	ShardID                 string          `json:"shardId"`
	IsFinalInvokeForWindow  bool            `json:"isFinalInvokeForWindow"`
	IsWindowTerminatedEarly bool            `json:"isWindowTerminatedEarly"`

	raw           []byte // as received
	functionError string // X-Amz-Function-Error of the answer
	answer        string // the answer's body
}

// fnSink serves a url function on the Runtime Interface Emulator's path:
// it keeps every event it is given, in the order it answered them, and
// answers with respond (nil: null, a success). respond is called
// concurrently and may block (up to the function's timeout).
type fnSink struct {
	URL     string
	respond func(ev esmEvent) (functionError, body string)
	mu      sync.Mutex
	events  []esmEvent // guarded by mu
}

func newSink(t *testing.T, respond func(esmEvent) (string, string)) *fnSink {
	s := &fnSink{respond: respond}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != riePath {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var ev esmEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ev.raw, ev.answer = b, "null"
		if s.respond != nil {
			ev.functionError, ev.answer = s.respond(ev)
		}
		s.mu.Lock()
		s.events = append(s.events, ev)
		s.mu.Unlock()
		if ev.functionError != "" {
			w.Header().Set("X-Amz-Function-Error", ev.functionError)
		}
		io.WriteString(w, ev.answer)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *fnSink) snapshot() []esmEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// deliveries counts the deliveries of each record (by its data) in events
// the function answered without an error.
func (s *fnSink) deliveries() map[string]int {
	n := map[string]int{}
	for _, ev := range s.snapshot() {
		if ev.functionError == "" {
			for _, r := range ev.Records {
				n[r.data()]++
			}
		}
	}
	return n
}

// errorBody is a function error as a url function answers it.
const errorBody = `{"errorMessage":"poisoned","errorType":"Error"}`

// pythonHandler (§5 test 2): the Python handler, created and invoked as
// test 1 does the Node one, with AWS CLI v2 and v1, answers as the Node
// handler does (boto3 compares the two).
func (a *acceptance) pythonHandler(t *testing.T) {
	pyZip := a.writeZip(t, "python", readFiles(t, "../internal/server/testdata/functions/python"))
	nodeZip := a.writeZip(t, "node", readFiles(t, "../internal/server/testdata/functions/node"))
	for name, cli := range map[string]string{"v2": a.v2, "v1": a.v1} {
		if cli == "" {
			continue
		}
		run := func(args ...string) []byte { t.Helper(); return runAWS(t, cli, a.addr, args...) }
		fn := "py-" + name
		var created struct{ FunctionArn, State, Runtime, Handler string }
		json.Unmarshal(run("lambda", "create-function", "--function-name", fn, "--runtime", "python3.11", "--handler", "lambda_function.lambda_handler",
			"--role", accRole, "--zip-file", "fileb://"+pyZip, "--environment", "Variables={CUSTOM=yes}"), &created)
		if created.FunctionArn != accFunctionARN(fn) || created.State != "Active" || created.Runtime != "python3.11" || created.Handler != "lambda_function.lambda_handler" {
			t.Fatalf("%s create-function: %+v", name, created)
		}
		outFile := filepath.Join(a.dir, fn+".json")
		args := []string{"lambda", "invoke", "--function-name", fn, "--payload", `{"N":5}`, "--log-type", "Tail"}
		if name == "v2" {
			args = append(args, "--cli-binary-format", "raw-in-base64-out")
		}
		var inv struct {
			StatusCode                                int
			FunctionError, LogResult, ExecutedVersion string
		}
		json.Unmarshal(run(append(args, outFile)...), &inv)
		logs, _ := base64.StdEncoding.DecodeString(inv.LogResult)
		body, _ := os.ReadFile(outFile)
		var res struct {
			Echo                struct{ N int }
			Invocations         int
			RequestID, Function string
			Remaining           bool
			Endpoint, Custom    string
		}
		json.Unmarshal(body, &res)
		if inv.StatusCode != 200 || inv.FunctionError != "" || inv.ExecutedVersion != "$LATEST" || res.Echo.N != 5 || res.Invocations != 1 ||
			res.Function != fn || !res.Remaining || res.Endpoint != "http://"+a.addr || res.Custom != "yes" {
			t.Fatalf("%s invoke: %+v\n%s", name, inv, body)
		}
		if !strings.HasPrefix(string(logs), "START RequestId: "+res.RequestID) || !strings.Contains(string(logs), "hello from python "+res.RequestID) ||
			!strings.Contains(string(logs), "\nEND RequestId: "+res.RequestID) || !strings.Contains(string(logs), "\nREPORT RequestId: "+res.RequestID) {
			t.Fatalf("%s log tail %q", name, logs)
		}
		var cfg struct{ Handler, Runtime string }
		json.Unmarshal(run("lambda", "get-function-configuration", "--function-name", fn), &cfg)
		if cfg.Handler != "lambda_function.lambda_handler" || cfg.Runtime != "python3.11" {
			t.Fatalf("%s get-function-configuration: %+v", name, cfg)
		}
		run("lambda", "delete-function", "--function-name", fn)
	}
	// boto3: the Python and the Node handler answer alike (but for the
	// request id and the function's name), and fail alike.
	out := a.boto3(t, `
c = client("lambda")
res = {}
for name, runtime, handler, zipfile in (("cmp-py", "python3.11", "lambda_function.lambda_handler", args[0]),
                                        ("cmp-node", "nodejs20.x", "index.handler", args[1])):
    made = c.create_function(FunctionName=name, Runtime=runtime, Handler=handler, Role=args[2],
                             Code={"ZipFile": open(zipfile, "rb").read()}, Environment={"Variables": {"CUSTOM": "yes"}})
    assert made["ResponseMetadata"]["HTTPStatusCode"] == 201, made
    r = c.invoke(FunctionName=name, Payload=json.dumps({"N": 5, "list": [1, "two", None]}))
    assert r["StatusCode"] == 200 and "FunctionError" not in r, r
    body = json.loads(r["Payload"].read())
    assert body.pop("requestId") and body.pop("function") == name, body
    e = c.invoke(FunctionName=name, Payload=json.dumps({"fail": True}))
    err = json.loads(e["Payload"].read())
    assert e["StatusCode"] == 200 and e["FunctionError"] == "Unhandled", e
    assert err["errorMessage"] == "asked to fail" and isinstance(err["stackTrace"], list), err
    res[name] = (body, err["errorType"])
    c.delete_function(FunctionName=name)
assert res["cmp-py"][0] == res["cmp-node"][0], res
assert res["cmp-py"][1] == "ValueError" and res["cmp-node"][1] == "TypeError", res
print(json.dumps(res["cmp-py"][0], sort_keys=True))
`, nil, pyZip, nodeZip, accRole)
	if want := fmt.Sprintf(`{"custom": "yes", "echo": {"N": 5, "list": [1, "two", null]}, "endpoint": "http://%s", "invocations": 1, "remaining": true}`, a.addr); strings.TrimSpace(string(out)) != want {
		t.Fatalf("boto3 compared %s, want %s", out, want)
	}
}

// functionErrors (§5 test 3): a handler that throws, a handler that is
// missing and one that outlives its 1 s timeout answer 200 with
// X-Amz-Function-Error: Unhandled and Lambda's error object, in Node and
// Python; after the timeout the next invocation works, in a fresh process.
func (a *acceptance) functionErrors(t *testing.T) {
	pyZip := a.writeZip(t, "python-errors", readFiles(t, "../internal/server/testdata/functions/python"))
	nodeZip := a.writeZip(t, "node-errors", readFiles(t, "../internal/server/testdata/functions/node"))
	a.boto3(t, `
c = client("lambda")
def invoke(name, payload):
    start = time.monotonic()
    r = c.invoke(FunctionName=name, Payload=json.dumps(payload))
    took = time.monotonic() - start
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200 and r["StatusCode"] == 200, r
    return r, json.loads(r["Payload"].read()), took
def unhandled(name, payload, error_type, message):
    r, body, took = invoke(name, payload)
    assert r["FunctionError"] == "Unhandled", (name, payload, r)
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amz-function-error"] == "Unhandled", r
    assert body["errorType"] == error_type, (name, payload, body)
    assert message in body["errorMessage"], (name, payload, body)
    return took
for name, runtime, handler, module, zipfile, thrown in (
        ("err-py", "python3.11", "lambda_function.lambda_handler", "lambda_function", args[0], "ValueError"),
        ("err-node", "nodejs20.x", "index.handler", "index", args[1], "TypeError")):
    c.create_function(FunctionName=name, Runtime=runtime, Handler=handler, Role=args[2], Timeout=1,
                      Code={"ZipFile": open(zipfile, "rb").read()})
    unhandled(name, {"fail": True}, thrown, "asked to fail")
    r, body, _ = invoke(name, {"N": 1})
    assert "FunctionError" not in r and body["invocations"] == 2, body  # the same warm process
    took = unhandled(name, {"sleepMs": 3000}, "Sandbox.Timedout", "Task timed out after 1.00 seconds")
    assert took < 2.9, (name, took)  # the 1 s deadline, not the 3 s sleep
    r, body, _ = invoke(name, {"N": 2})
    assert "FunctionError" not in r and body["echo"] == {"N": 2} and body["invocations"] == 1, body  # a fresh process
    c.update_function_configuration(FunctionName=name, Handler=module + ".nope")
    unhandled(name, {}, "Runtime.HandlerNotFound", "nope")
    c.update_function_configuration(FunctionName=name, Handler="missing.handler")
    unhandled(name, {}, "Runtime.ImportModuleError", "missing")
    c.update_function_configuration(FunctionName=name, Handler=handler)
    r, body, _ = invoke(name, {"N": 3})
    assert "FunctionError" not in r and body["echo"] == {"N": 3}, body
`, nil, pyZip, nodeZip, accRole)
	// The AWS CLI reports the function error and writes the error object.
	outFile := filepath.Join(a.dir, "err-py.json")
	var inv struct {
		StatusCode    int
		FunctionError string
	}
	a.awsJSON(t, &inv, "lambda", "invoke", "--function-name", "err-py", "--cli-binary-format", "raw-in-base64-out", "--payload", `{"fail":true}`, outFile)
	body, _ := os.ReadFile(outFile)
	var ferr struct {
		ErrorMessage, ErrorType string
		StackTrace              []string
	}
	if err := json.Unmarshal(body, &ferr); err != nil || inv.StatusCode != 200 || inv.FunctionError != "Unhandled" ||
		ferr.ErrorMessage != "asked to fail" || ferr.ErrorType != "ValueError" || len(ferr.StackTrace) == 0 {
		t.Fatalf("aws lambda invoke of a failing handler: %+v %s", inv, body)
	}
}

// mappingDelivers (§5 test 4): a mapping on a 2-shard stream, from
// TRIM_HORIZON with BatchSize 100, delivers 3,000 records of 20 partition
// keys: every record, each shard's in ascending sequence order, in batches
// of one shard and at most 100 records, in Lambda's event shape (members
// and their order as AWS sends them).
func (a *acceptance) mappingDelivers(t *testing.T) {
	const n = 3000
	sink := newSink(t, nil)
	recs := make([]accRecord, n)
	for i := range recs {
		recs[i] = accRecord{Key: fmt.Sprintf("key-%02d", i%20), Data: fmt.Sprintf(`{"n":%d}`, i)}
	}
	start := time.Now()
	puts := a.put(t, "acc-basic", recs)
	a.urlFunction(t, "acc-basic", sink.URL)
	a.createMapping(t, "acc-basic", "acc-basic", "--batch-size", "100")
	eventually(t, 30*time.Second, func() error {
		seen := map[string]bool{}
		for _, ev := range sink.snapshot() {
			for _, r := range ev.Records {
				seen[r.Kinesis.SequenceNumber] = true
			}
		}
		if len(seen) < n {
			return fmt.Errorf("%d of %d records delivered", len(seen), n)
		}
		return nil
	})
	index := map[string]int{} // sequence number → record
	for i, p := range puts {
		index[p.SequenceNumber] = i
	}
	last := map[string]string{} // shard → last sequence number delivered
	perShard := map[string]int{}
	events := sink.snapshot()
	for b, ev := range events {
		if len(ev.Records) == 0 || len(ev.Records) > 100 {
			t.Fatalf("batch %d: %d records", b, len(ev.Records))
		}
		shard := ev.Records[0].shard()
		for _, r := range ev.Records {
			seq := r.Kinesis.SequenceNumber
			i, ok := index[seq]
			switch {
			case !ok:
				t.Fatalf("batch %d: sequence number %s was never put", b, seq)
			case r.shard() != shard:
				t.Fatalf("batch %d holds records of %s and %s", b, shard, r.shard())
			case puts[i].ShardId != shard:
				t.Fatalf("record %d of %s delivered as %s's", i, puts[i].ShardId, shard)
			case last[shard] != "" && !seqLess(last[shard], seq):
				t.Fatalf("%s: %s delivered after %s", shard, seq, last[shard])
			}
			last[shard] = seq
			perShard[shard]++
			at := time.UnixMilli(int64(math.Round(r.Kinesis.ApproximateArrivalTimestamp * 1000)))
			if r.Kinesis.KinesisSchemaVersion != "1.0" || r.Kinesis.PartitionKey != recs[i].Key || r.data() != recs[i].Data ||
				r.EventSource != "aws:kinesis" || r.EventVersion != "1.0" || r.EventID != puts[i].ShardId+":"+seq || r.EventName != "aws:kinesis:record" ||
				r.InvokeIdentityArn != accRole || r.AwsRegion != "us-east-1" || r.EventSourceARN != accStreamARN("acc-basic") ||
				at.Before(start.Add(-time.Second)) || at.After(time.Now()) {
				t.Fatalf("batch %d: event record %+v (record %d: %+v)", b, r, i, recs[i])
			}
		}
	}
	if len(perShard) != 2 || perShard["shardId-000000000000"]+perShard["shardId-000000000001"] != n {
		t.Fatalf("deliveries by shard %v, want %d once each over 2 shards", perShard, n)
	}
	// The event's members, in AWS's order.
	var ev struct{ Records []json.RawMessage }
	json.Unmarshal(events[0].raw, &ev)
	var rec map[string]json.RawMessage
	json.Unmarshal(ev.Records[0], &rec)
	for _, c := range []struct {
		raw  []byte
		want []string
	}{
		{events[0].raw, []string{"Records"}},
		{ev.Records[0], []string{"kinesis", "eventSource", "eventVersion", "eventID", "eventName", "invokeIdentityArn", "awsRegion", "eventSourceARN"}},
		{rec["kinesis"], []string{"kinesisSchemaVersion", "partitionKey", "sequenceNumber", "data", "approximateArrivalTimestamp"}},
	} {
		if got := objectKeys(c.raw); !slices.Equal(got, c.want) {
			t.Fatalf("members %v, want %v in %s", got, c.want, c.raw)
		}
	}
}

// mappingAPI (§5 test 5): Create, Get, List, Update and Delete
// EventSourceMapping with the AWS CLI: the create answer is field for
// field AWS's with its defaults (§1.2), the statuses are 202/200 (boto3),
// and lists page at 100.
func (a *acceptance) mappingAPI(t *testing.T) {
	a.urlFunction(t, "acc-crud", "http://127.0.0.1:9")
	created := a.createMapping(t, "acc-crud", "acc-crud")
	uuid := created["UUID"].(string)
	if _, err := time.Parse(time.RFC3339, created["LastModified"].(string)); err != nil {
		t.Errorf("LastModified %v: %v", created["LastModified"], err)
	}
	mappingARN := "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:" + uuid
	want := map[string]any{
		"UUID": uuid, "BatchSize": 100.0, "BisectBatchOnFunctionError": false, "DestinationConfig": map[string]any{"OnFailure": map[string]any{}},
		"EventSourceArn": accStreamARN("acc-crud"), "FunctionArn": accFunctionARN("acc-crud"), "FunctionResponseTypes": []any{},
		"LastModified": created["LastModified"], "LastProcessingResult": "No records processed", "MaximumBatchingWindowInSeconds": 0.0,
		"MaximumRecordAgeInSeconds": -1.0, "MaximumRetryAttempts": -1.0, "ParallelizationFactor": 1.0, "StartingPosition": "TRIM_HORIZON",
		"State": "Creating", "StateTransitionReason": "User action", "TumblingWindowInSeconds": 0.0,
		"EventSourceMappingArn": mappingARN,
	}
	if _, ok := created["EventSourceMappingArn"]; !ok {
		delete(want, "EventSourceMappingArn") // not in CLI v2's (2022) model: the CLI drops it
	}
	if !reflect.DeepEqual(created, want) {
		t.Fatalf("create-event-source-mapping answered\n%v\nwant\n%v", created, want)
	}
	// A second mapping of the function on the stream is refused.
	if out := a.awsFails(t, "lambda", "create-event-source-mapping", "--function-name", "acc-crud", "--event-source-arn", accStreamARN("acc-crud"),
		"--starting-position", "LATEST"); !strings.Contains(out, "ResourceConflictException") || !strings.Contains(out, uuid) {
		t.Fatalf("a second mapping: %s", out)
	}
	var got map[string]any
	a.awsJSON(t, &got, "lambda", "get-event-source-mapping", "--uuid", uuid)
	if got["State"] != "Enabled" || got["UUID"] != uuid || got["BatchSize"] != 100.0 {
		t.Fatalf("get-event-source-mapping: %v", got)
	}
	var list struct{ EventSourceMappings []map[string]any }
	a.awsJSON(t, &list, "lambda", "list-event-source-mappings", "--function-name", "acc-crud")
	if len(list.EventSourceMappings) != 1 || list.EventSourceMappings[0]["UUID"] != uuid {
		t.Fatalf("list-event-source-mappings: %v", list)
	}
	var updated map[string]any
	a.awsJSON(t, &updated, "lambda", "update-event-source-mapping", "--uuid", uuid, "--batch-size", "50", "--maximum-retry-attempts", "3", "--no-enabled")
	if updated["State"] != "Updating" || updated["BatchSize"] != 50.0 || updated["MaximumRetryAttempts"] != 3.0 || updated["StartingPosition"] != "TRIM_HORIZON" {
		t.Fatalf("update-event-source-mapping: %v", updated)
	}
	if v1 := a.v1; v1 != "" { // v1's model is current: every member of §1.2
		json.Unmarshal(runAWS(t, v1, a.addr, "lambda", "get-event-source-mapping", "--uuid", uuid), &got)
		if got["State"] != "Disabled" || got["BatchSize"] != 50.0 || got["EventSourceMappingArn"] != mappingARN {
			t.Fatalf("get-event-source-mapping (v1) after the update: %v", got)
		}
	}
	var deleted map[string]any
	a.awsJSON(t, &deleted, "lambda", "delete-event-source-mapping", "--uuid", uuid)
	if deleted["State"] != "Deleting" || deleted["UUID"] != uuid {
		t.Fatalf("delete-event-source-mapping: %v", deleted)
	}
	if out := a.awsFails(t, "lambda", "get-event-source-mapping", "--uuid", uuid); !strings.Contains(out, "ResourceNotFoundException") {
		t.Fatalf("get after delete: %s", out)
	}
	// Statuses (boto3 sees them), and 101 mappings listed in pages of 100.
	a.boto3(t, `
c = client("lambda")
status = lambda r: r["ResponseMetadata"]["HTTPStatusCode"]
c.create_function(FunctionName="acc-status", PackageType="Image", Code={"ImageUri": "http://127.0.0.1:9"}, Role=args[1])
m = c.create_event_source_mapping(FunctionName="acc-status", EventSourceArn=args[0], StartingPosition="LATEST", Enabled=False)
assert status(m) == 202 and m["State"] == "Creating", m
assert status(c.get_event_source_mapping(UUID=m["UUID"])) == 200
assert status(c.list_event_source_mappings(FunctionName="acc-status")) == 200
u = c.update_event_source_mapping(UUID=m["UUID"], BatchSize=10)
assert status(u) == 202 and u["State"] == "Updating", u
d = c.delete_event_source_mapping(UUID=m["UUID"])
assert status(d) == 202 and d["State"] == "Deleting", d
for i in range(101):
    c.create_function(FunctionName="acc-page-%03d" % i, PackageType="Image", Code={"ImageUri": "http://127.0.0.1:9"}, Role=args[1])
    c.create_event_source_mapping(FunctionName="acc-page-%03d" % i, EventSourceArn=args[0], StartingPosition="LATEST", Enabled=False)
page = c.list_event_source_mappings(EventSourceArn=args[0], MaxItems=1000)
assert len(page["EventSourceMappings"]) == 100 and page["NextMarker"], len(page["EventSourceMappings"])
rest = c.list_event_source_mappings(EventSourceArn=args[0], Marker=page["NextMarker"])
assert len(rest["EventSourceMappings"]) == 1 and "NextMarker" not in rest, rest
`, nil, accStreamARN("acc-page"), accRole)
	var page struct {
		EventSourceMappings []map[string]any
		NextMarker          string
	}
	a.awsJSON(t, &page, "lambda", "list-event-source-mappings", "--event-source-arn", accStreamARN("acc-page"), "--no-paginate")
	if len(page.EventSourceMappings) != 100 || page.NextMarker == "" {
		t.Fatalf("list-event-source-mappings --no-paginate: %d mappings, NextMarker %q", len(page.EventSourceMappings), page.NextMarker)
	}
	page.EventSourceMappings = nil
	a.awsJSON(t, &page, "lambda", "list-event-source-mappings", "--event-source-arn", accStreamARN("acc-page"))
	if len(page.EventSourceMappings) != 101 { // the CLI follows NextMarker
		t.Fatalf("list-event-source-mappings (paginated by the CLI): %d mappings, want 101", len(page.EventSourceMappings))
	}
}

// poisonToOnFailure (§5 test 6): a batch with a poison record fails; with
// MaximumRetryAttempts 2 it is invoked three times while its shard waits
// and the other shard goes on; then its failure record, with the batch's
// KinesisBatchInfo, is in the OnFailure stream (read with aws kinesis
// get-records), and the shard moves on.
func (a *acceptance) poisonToOnFailure(t *testing.T) {
	inFlight := make(chan struct{}, 1) // the first poisoned invocation is running
	release := make(chan struct{})     // ... and may answer
	var once sync.Once
	sink := newSink(t, func(ev esmEvent) (string, string) {
		for _, r := range ev.Records {
			if r.data() == "poison" {
				once.Do(func() {
					inFlight <- struct{}{}
					select {
					case <-release:
					case <-time.After(8 * time.Second):
					}
				})
				return "Unhandled", errorBody
			}
		}
		return "", "null"
	})
	a.urlFunction(t, "acc-poison", sink.URL, "--timeout", "10")
	shard0 := a.put(t, "acc-poison", []accRecord{{"k0", "a0", "0"}, {"k0", "poison", "0"}, {"k0", "b0", "0"}, {"k1", "a1", shard1Hash}})
	a.createMapping(t, "acc-poison", "acc-poison", "--batch-size", "10", "--maximum-retry-attempts", "2",
		"--destination-config", `{"OnFailure":{"Destination":"`+accStreamARN("acc-dlq")+`"}}`)
	select {
	case <-inFlight:
	case <-time.After(20 * time.Second):
		t.Fatal("the poisoned batch never reached the function")
	}
	// Shard 0 waits on its failing batch; shard 1 goes on.
	a.put(t, "acc-poison", []accRecord{{"k1", "b1", shard1Hash}})
	eventually(t, 20*time.Second, func() error {
		if d := sink.deliveries(); d["a1"] != 1 || d["b1"] != 1 {
			return fmt.Errorf("shard 1's records delivered %v while shard 0 is blocked", d)
		}
		return nil
	})
	close(release)
	a.put(t, "acc-poison", []accRecord{{"k0", "c0", "0"}})
	eventually(t, 20*time.Second, func() error {
		if d := sink.deliveries(); d["c0"] != 1 {
			return fmt.Errorf("shard 0 did not move on: %v", d)
		}
		return nil
	})
	poisoned := 0
	for _, ev := range sink.snapshot() {
		if ev.functionError != "" {
			if poisoned++; len(ev.Records) != 3 || ev.Records[0].data() != "a0" || ev.Records[2].data() != "b0" {
				t.Fatalf("the failing batch: %+v", ev.Records)
			}
		}
	}
	if d := sink.deliveries(); poisoned != 3 || d["a0"] != 0 || d["b0"] != 0 {
		t.Fatalf("the poisoned batch was invoked %d times (want 1 + 2 retries); successful deliveries %v", poisoned, d)
	}
	var it struct{ ShardIterator string }
	a.awsJSON(t, &it, "kinesis", "get-shard-iterator", "--stream-name", "acc-dlq", "--shard-id", "shardId-000000000000", "--shard-iterator-type", "TRIM_HORIZON")
	var got struct{ Records []struct{ Data []byte } }
	a.awsJSON(t, &got, "kinesis", "get-records", "--shard-iterator", it.ShardIterator)
	if len(got.Records) != 1 {
		t.Fatalf("%d failure records in the OnFailure stream, want 1", len(got.Records))
	}
	raw := got.Records[0].Data
	var fr struct {
		RequestContext struct {
			RequestID, FunctionArn, Condition string
			ApproximateInvokeCount            int
		}
		ResponseContext struct {
			StatusCode                     int
			ExecutedVersion, FunctionError string
		}
		Version, Timestamp string
		KinesisBatchInfo   json.RawMessage
	}
	if err := json.Unmarshal(raw, &fr); err != nil {
		t.Fatalf("failure record %s: %v", raw, err)
	}
	var bi struct {
		ShardID, StartSequenceNumber, EndSequenceNumber                 string
		ApproximateArrivalOfFirstRecord, ApproximateArrivalOfLastRecord time.Time
		BatchSize                                                       int
		StreamArn                                                       string
	}
	json.Unmarshal(fr.KinesisBatchInfo, &bi)
	rc, rs := fr.RequestContext, fr.ResponseContext
	if rc.RequestID == "" || rc.FunctionArn != accFunctionARN("acc-poison") || rc.Condition != "RetryAttemptsExhausted" || rc.ApproximateInvokeCount != 3 ||
		rs.StatusCode != 200 || rs.ExecutedVersion != "$LATEST" || rs.FunctionError != "Unhandled" || fr.Version != "1.0" ||
		bi.ShardID != "shardId-000000000000" || bi.StartSequenceNumber != shard0[0].SequenceNumber || bi.EndSequenceNumber != shard0[2].SequenceNumber ||
		bi.BatchSize != 3 || bi.StreamArn != accStreamARN("acc-poison") || bi.ApproximateArrivalOfFirstRecord.IsZero() ||
		bi.ApproximateArrivalOfLastRecord.Before(bi.ApproximateArrivalOfFirstRecord) {
		t.Fatalf("failure record %s", raw)
	}
	if _, err := time.Parse(time.RFC3339, fr.Timestamp); err != nil {
		t.Fatalf("failure record's timestamp %q: %v", fr.Timestamp, err)
	}
	for _, c := range []struct {
		raw  []byte
		want []string
	}{
		{raw, []string{"requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo"}},
		{fr.KinesisBatchInfo, []string{"shardId", "startSequenceNumber", "endSequenceNumber", "approximateArrivalOfFirstRecord",
			"approximateArrivalOfLastRecord", "batchSize", "streamArn"}},
	} {
		if got := objectKeys(c.raw); !slices.Equal(got, c.want) {
			t.Fatalf("members %v, want %v", got, c.want)
		}
	}
}

// partialFailuresAndBisect (§5 test 7): with ReportBatchItemFailures the
// batch is redelivered from the lowest record reported (the records before
// it are not resent); with BisectBatchOnFunctionError a batch holding one
// poison record is halved until the poison is alone, after ⌈log2(batch)⌉
// splits, every healthy half delivered once.
func (a *acceptance) partialFailuresAndBisect(t *testing.T) {
	var mu sync.Mutex
	reported := false
	var puts []accPut // guarded by mu until the first answer
	rbif := newSink(t, func(ev esmEvent) (string, string) {
		mu.Lock()
		defer mu.Unlock()
		if reported {
			return "", `{"batchItemFailures":[]}`
		}
		reported = true
		return "", `{"batchItemFailures":[{"itemIdentifier":"` + puts[6].SequenceNumber + `"},{"itemIdentifier":"` + puts[4].SequenceNumber + `"}]}`
	})
	recs := make([]accRecord, 10)
	for i := range recs {
		recs[i] = accRecord{Key: "k", Data: fmt.Sprintf("r%d", i)}
	}
	mu.Lock()
	puts = a.put(t, "acc-rbif", recs)
	mu.Unlock()
	a.urlFunction(t, "acc-rbif", rbif.URL)
	a.createMapping(t, "acc-rbif", "acc-rbif", "--batch-size", "10", "--function-response-types", "ReportBatchItemFailures")
	eventually(t, 20*time.Second, func() error {
		if evs := rbif.snapshot(); len(evs) < 2 {
			return fmt.Errorf("%d invocations, want 2", len(evs))
		}
		return nil
	})
	evs := rbif.snapshot()
	var batches [][]string
	for _, ev := range evs[:2] {
		var b []string
		for _, r := range ev.Records {
			b = append(b, r.data())
		}
		batches = append(batches, b)
	}
	if want := [][]string{{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}, {"r4", "r5", "r6", "r7", "r8", "r9"}}; !reflect.DeepEqual(batches, want) {
		t.Fatalf("ReportBatchItemFailures naming r6 and r4: batches %v, want %v", batches, want)
	}

	bisect := newSink(t, func(ev esmEvent) (string, string) {
		for _, r := range ev.Records {
			if r.data() == "poison" {
				return "Unhandled", errorBody
			}
		}
		return "", "null"
	})
	recs = make([]accRecord, 16)
	for i := range recs {
		recs[i] = accRecord{Key: "k", Data: fmt.Sprintf("h%02d", i)}
	}
	recs[11].Data = "poison"
	a.put(t, "acc-bisect", recs)
	a.urlFunction(t, "acc-bisect", bisect.URL)
	a.createMapping(t, "acc-bisect", "acc-bisect", "--batch-size", "16", "--bisect-batch-on-function-error", "--maximum-retry-attempts", "0")
	eventually(t, 20*time.Second, func() error {
		if d := bisect.deliveries(); d["h15"] != 1 {
			return fmt.Errorf("deliveries %v", d)
		}
		return nil
	})
	a.put(t, "acc-bisect", []accRecord{{Key: "k", Data: "after"}})
	eventually(t, 20*time.Second, func() error {
		if d := bisect.deliveries(); d["after"] != 1 {
			return fmt.Errorf("the record after the poison: deliveries %v", d)
		}
		return nil
	})
	var poisoned []int
	for _, ev := range bisect.snapshot() {
		if ev.functionError != "" {
			poisoned = append(poisoned, len(ev.Records))
		}
	}
	if !slices.Equal(poisoned, []int{16, 8, 4, 2, 1}) { // ⌈log2 16⌉ = 4 splits
		t.Fatalf("batches holding the poison: sizes %v, want 16 8 4 2 1", poisoned)
	}
	d := bisect.deliveries()
	for _, r := range recs {
		if want := 1; r.Data != "poison" && d[r.Data] != want {
			t.Fatalf("healthy record %s delivered %d times: %v", r.Data, d[r.Data], d)
		}
	}
}

// parallelizationFactor (§5 test 8): with ParallelizationFactor 4 and a
// function that takes its time, one shard has several batches in flight
// at once, and each partition key's records arrive in order.
func (a *acceptance) parallelizationFactor(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	sink := newSink(t, func(ev esmEvent) (string, string) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		return "", "null"
	})
	const n = 400
	recs := make([]accRecord, n)
	for i := range recs {
		recs[i] = accRecord{Key: fmt.Sprintf("key-%02d", i%16), Data: strconv.Itoa(i)}
	}
	a.put(t, "acc-pf", recs)
	a.urlFunction(t, "acc-pf", sink.URL)
	if m := a.createMapping(t, "acc-pf", "acc-pf", "--batch-size", "20", "--parallelization-factor", "4"); m["ParallelizationFactor"] != 4.0 {
		t.Fatalf("create-event-source-mapping: %v", m)
	}
	eventually(t, 30*time.Second, func() error {
		if d := sink.deliveries(); len(d) < n {
			return fmt.Errorf("%d of %d records delivered", len(d), n)
		}
		return nil
	})
	last := map[string]int{}
	for _, ev := range sink.snapshot() {
		if len(ev.Records) > 20 {
			t.Fatalf("a batch of %d records", len(ev.Records))
		}
		for _, r := range ev.Records {
			v, _ := strconv.Atoi(r.data())
			if prev, ok := last[r.Kinesis.PartitionKey]; ok && v <= prev {
				t.Fatalf("%s: record %d delivered after %d", r.Kinesis.PartitionKey, v, prev)
			}
			last[r.Kinesis.PartitionKey] = v
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most < 2 {
		t.Fatalf("at most %d batch in flight on one shard with ParallelizationFactor 4", most)
	}
	t.Logf("up to %d batches in flight on the shard", most)
}

// resharding (§5 test 9): a shard is split (aws kinesis split-shard) and
// two shards merged (merge-shards) while a mapping delivers: no record of
// a child shard is delivered before its parents' last record of that key.
func (a *acceptance) resharding(t *testing.T) {
	sink := newSink(t, nil)
	n := 0
	put := func(count int) {
		recs := make([]accRecord, count)
		for i := range recs {
			recs[i] = accRecord{Key: fmt.Sprintf("key-%02d", n%16), Data: fmt.Sprintf("%02d/%04d", n%16, n)}
			n++
		}
		a.put(t, "acc-reshard", recs)
	}
	put(300)
	a.urlFunction(t, "acc-reshard", sink.URL)
	a.createMapping(t, "acc-reshard", "acc-reshard", "--batch-size", "7")
	a.aws(t, "kinesis", "split-shard", "--stream-name", "acc-reshard", "--shard-to-split", "shardId-000000000000",
		"--new-starting-hash-key", "85070591730234615865843651857942052864")
	put(300) // waits until the stream is ACTIVE again
	a.aws(t, "kinesis", "merge-shards", "--stream-name", "acc-reshard", "--shard-to-merge", "shardId-000000000002",
		"--adjacent-shard-to-merge", "shardId-000000000003")
	put(300)
	eventually(t, 30*time.Second, func() error {
		if d := sink.deliveries(); len(d) < n {
			return fmt.Errorf("%d of %d records delivered", len(d), n)
		}
		return nil
	})
	last := map[string]string{}
	shards := map[string]bool{}
	for _, ev := range sink.snapshot() {
		for _, r := range ev.Records {
			shards[r.shard()] = true
			if prev := last[r.Kinesis.PartitionKey]; r.data() <= prev {
				t.Fatalf("%s: record %s (%s) delivered after %s", r.Kinesis.PartitionKey, r.data(), r.shard(), prev)
			}
			last[r.Kinesis.PartitionKey] = r.data()
		}
	}
	if len(shards) != 5 { // 0 and 1; 0's children 2 and 3; their child 4
		t.Fatalf("records delivered from shards %v, want 5", shards)
	}
}

// filterCriteria (§5 test 11): only records whose JSON data matches one of
// the filters reach the function; the others, and records whose data is
// not JSON, are skipped and checkpointed with them; an invalid pattern is
// refused with InvalidParameterValueException.
func (a *acceptance) filterCriteria(t *testing.T) {
	sink := newSink(t, nil)
	a.urlFunction(t, "acc-filter", sink.URL)
	for _, bad := range []string{`{"data": "order"}`, `not json`} {
		criteria, _ := json.Marshal(map[string]any{"Filters": []any{map[string]string{"Pattern": bad}}})
		out := a.awsFails(t, "lambda", "create-event-source-mapping", "--function-name", "acc-filter", "--event-source-arn", accStreamARN("acc-filter"),
			"--starting-position", "TRIM_HORIZON", "--filter-criteria", string(criteria))
		if !strings.Contains(out, "(InvalidParameterValueException)") || !strings.Contains(out, "Invalid filter pattern definition") {
			t.Fatalf("pattern %s: %s", bad, out)
		}
	}
	a.put(t, "acc-filter", []accRecord{
		{Key: "k", Data: `{"kind":"order","n":1}`},
		{Key: "k", Data: `{"kind":"refund","amount":50}`},
		{Key: "k", Data: `not json`},
		{Key: "k", Data: `{"kind":"refund","amount":500}`},
		{Key: "k", Data: `{"kind":"order","n":2}`},
		{Key: "k", Data: `{"kind":"refund","amount":60}`},
		{Key: "k", Data: `["order"]`},
	})
	criteria := `{"Filters":[{"Pattern":"{\"data\":{\"kind\":[\"order\"]}}"},{"Pattern":"{\"data\":{\"amount\":[{\"numeric\":[\">\",100]}]}}"}]}`
	m := a.createMapping(t, "acc-filter", "acc-filter", "--filter-criteria", criteria)
	var wantCriteria any
	json.Unmarshal([]byte(criteria), &wantCriteria)
	if !reflect.DeepEqual(m["FilterCriteria"], wantCriteria) {
		t.Fatalf("FilterCriteria answered %v, want %s", m["FilterCriteria"], criteria)
	}
	want := []string{`{"kind":"order","n":1}`, `{"kind":"refund","amount":500}`, `{"kind":"order","n":2}`}
	delivered := func() []string {
		var got []string
		for _, ev := range sink.snapshot() {
			for _, r := range ev.Records {
				got = append(got, r.data())
			}
		}
		return got
	}
	eventually(t, 20*time.Second, func() error {
		if got := delivered(); !slices.Equal(got, want) {
			return fmt.Errorf("delivered %q, want %q", got, want)
		}
		return nil
	})
	// A new filter that matches every JSON object: the records skipped
	// before were checkpointed, so only records put after it arrive.
	a.put(t, "acc-filter", []accRecord{{Key: "k", Data: `{"kind":"order","n":3}`}})
	eventually(t, 20*time.Second, func() error {
		if got := delivered(); len(got) < 4 {
			return fmt.Errorf("delivered %q", got)
		}
		return nil
	})
	a.aws(t, "lambda", "update-event-source-mapping", "--uuid", m["UUID"].(string), "--filter-criteria",
		`{"Filters":[{"Pattern":"{\"data\":{\"kind\":[{\"exists\":true}]}}"}]}`)
	a.put(t, "acc-filter", []accRecord{{Key: "k", Data: `{"kind":"refund","amount":1}`}})
	eventually(t, 20*time.Second, func() error {
		got := delivered()
		if slices.Contains(got, `{"kind":"refund","amount":50}`) || slices.Contains(got, `{"kind":"refund","amount":60}`) {
			return fmt.Errorf("a record skipped under the first filter was delivered after the update: %q", got)
		}
		if !slices.Contains(got, `{"kind":"refund","amount":1}`) {
			return fmt.Errorf("delivered %q", got)
		}
		return nil
	})
}

// tumblingWindow (§5 test 12): with TumblingWindowInSeconds 5 the state a
// function returns is carried to the next invocation of the window, every
// window ends with exactly one isFinalInvokeForWindow invocation holding
// the window's whole state, and an answer without state is a failure (the
// batch is retried with the state it had).
func (a *acceptance) tumblingWindow(t *testing.T) {
	type state struct{ Sum, Count int }
	var mu sync.Mutex
	first := true
	sink := newSink(t, func(ev esmEvent) (string, string) {
		mu.Lock()
		defer mu.Unlock()
		if first { // the first answer has no state: the batch failed
			first = false
			return "", `{"sum":0}`
		}
		var st state
		json.Unmarshal(ev.State, &st)
		for _, r := range ev.Records {
			v, _ := strconv.Atoi(r.data())
			st.Sum += v
			st.Count++
		}
		b, _ := json.Marshal(map[string]any{"state": st})
		return "", string(b)
	})
	a.urlFunction(t, "acc-window", sink.URL)
	if m := a.createMapping(t, "acc-window", "acc-window", "--batch-size", "4", "--tumbling-window-in-seconds", "5"); m["TumblingWindowInSeconds"] != 5.0 {
		t.Fatalf("create-event-source-mapping: %v", m)
	}
	// Records in two windows: some now, some after the next boundary.
	if time.Until(time.Now().Truncate(5*time.Second).Add(5*time.Second)) < time.Second {
		time.Sleep(time.Second)
	}
	total, count := 0, 0
	put := func(from, to int) {
		var recs []accRecord
		for i := from; i <= to; i++ {
			recs = append(recs, accRecord{Key: "k", Data: strconv.Itoa(i)})
			total, count = total+i, count+1
		}
		a.put(t, "acc-window", recs)
	}
	put(1, 10)
	time.Sleep(time.Until(time.Now().Truncate(5 * time.Second).Add(5*time.Second + 100*time.Millisecond)))
	put(11, 15)
	eventually(t, 30*time.Second, func() error {
		sum := 0
		for _, ev := range sink.snapshot() {
			if ev.IsFinalInvokeForWindow {
				var st state
				json.Unmarshal(ev.State, &st)
				sum += st.Sum
			}
		}
		if sum != total {
			return fmt.Errorf("the final invocations hold %d, want %d", sum, total)
		}
		return nil
	})
	var open *esmEvent // the window being delivered
	var carried state  // its state so far
	windows, delivered, failures := 0, 0, 0
	for i, ev := range sink.snapshot() {
		w := ev.Window
		if w == nil || w.End.Sub(w.Start) != 5*time.Second || w.Start.Unix()%5 != 0 || ev.ShardID != "shardId-000000000000" || ev.IsWindowTerminatedEarly {
			t.Fatalf("event %d: %s", i, ev.raw)
		}
		if open == nil || !w.Start.Equal(open.Window.Start) {
			if open != nil {
				t.Fatalf("event %d: window %v began before %v's final invocation", i, w.Start, open.Window.Start)
			}
			open, carried = &ev, state{}
		}
		var st state
		if err := json.Unmarshal(ev.State, &st); err != nil || st != carried {
			t.Fatalf("event %d: state %s, want %+v", i, ev.State, carried)
		}
		if ev.IsFinalInvokeForWindow {
			if len(ev.Records) != 0 {
				t.Fatalf("event %d: a final invocation with %d records", i, len(ev.Records))
			}
			open, windows = nil, windows+1
			continue
		}
		if len(ev.Records) == 0 || len(ev.Records) > 4 {
			t.Fatalf("event %d: %d records", i, len(ev.Records))
		}
		for _, r := range ev.Records {
			at := time.UnixMilli(int64(math.Round(r.Kinesis.ApproximateArrivalTimestamp * 1000)))
			if at.Before(w.Start) || !at.Before(w.End) {
				t.Fatalf("event %d: a record of %v in the window %v–%v", i, at, w.Start, w.End)
			}
		}
		if !strings.Contains(ev.answer, `"state"`) {
			failures++
			continue // retried with the same state
		}
		var answer struct{ State state }
		json.Unmarshal([]byte(ev.answer), &answer)
		carried = answer.State
		delivered += len(ev.Records)
	}
	if windows != 2 || open != nil || delivered != count || failures != 1 {
		t.Fatalf("%d windows finished (open: %v), %d of %d records delivered, %d failed answers; want 2, all, 1", windows, open != nil, delivered, count, failures)
	}
}

// firehoseProcessor (§5 test 13): a delivery stream to the built-in S3
// with a Node Lambda processor and one with the same transform as a
// rheos.jq function deliver the same objects; Dropped records go nowhere
// and ProcessingFailed ones are in processing-failed objects (read with
// aws s3).
func (a *acceptance) firehoseProcessor(t *testing.T) {
	files := readFiles(t, "testdata/firehose-processor")
	nodeZip := a.writeZip(t, "fh-node", map[string][]byte{"index.js": files["index.js"]})
	jqZip := a.writeZip(t, "fh-jq", map[string][]byte{"processor.jq": files["processor.jq"]})
	a.aws(t, "lambda", "create-function", "--function-name", "fh-node", "--runtime", "nodejs20.x", "--handler", "index.handler",
		"--role", accRole, "--zip-file", "fileb://"+nodeZip)
	a.aws(t, "lambda", "create-function", "--function-name", "fh-jq", "--runtime", "rheos.jq", "--handler", "processor.jq",
		"--role", accRole, "--zip-file", "fileb://"+jqZip)
	endpoint := "http://" + a.addr
	s3CLI(t, endpoint, "AKIDEXAMPLE", "secret", "s3", "mb", "s3://acc-firehose")
	var records []any
	var wantOK, wantFailed []string
	for i := 0; i < 30; i++ {
		d := fmt.Sprintf("rec-%02d", i)
		switch i % 5 {
		case 1:
			d = "drop"
		case 3:
			d = fmt.Sprintf("bad-%02d", i)
			wantFailed = append(wantFailed, d)
		default:
			wantOK = append(wantOK, strings.ToUpper(d))
		}
		records = append(records, map[string]any{"Data": base64.StdEncoding.EncodeToString([]byte(d + "\n"))})
	}
	for _, fn := range []string{"fh-node", "fh-jq"} {
		createAndWait(t, a.addr, map[string]any{
			"DeliveryStreamName": fn,
			"ExtendedS3DestinationConfiguration": map[string]any{
				"RoleARN": accRole, "BucketARN": "arn:aws:s3:::acc-firehose", "Prefix": fn + "/ok/",
				"ErrorOutputPrefix": fn + "/failed/!{firehose:error-output-type}/",
				"BufferingHints":    map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0},
				"ProcessingConfiguration": map[string]any{"Enabled": true, "Processors": []any{map[string]any{"Type": "Lambda",
					"Parameters": []any{map[string]any{"ParameterName": "LambdaArn", "ParameterValue": accFunctionARN(fn)}}}}},
			},
		})
		if status, out, err := firehoseCall(a.addr, "PutRecordBatch", map[string]any{"DeliveryStreamName": fn, "Records": records}); err != nil ||
			status != 200 || out["FailedPutCount"] != 0.0 {
			t.Fatalf("put to %s: %d %v %v", fn, status, out, err)
		}
	}
	// What each stream delivered and failed, from the bucket.
	type outcome struct{ ok, failed []string }
	var got map[string]*outcome
	sort.Strings(wantOK)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = map[string]*outcome{"fh-node": {}, "fh-jq": {}}
		for key, b := range syncedObjects(t, endpoint, "AKIDEXAMPLE", "secret", "acc-firehose/") {
			fn, rest, _ := strings.Cut(key, "/")
			o := got[fn]
			switch {
			case o == nil:
				t.Fatalf("object %s", key)
			case strings.HasPrefix(rest, "ok/"):
				o.ok = append(o.ok, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
			case strings.HasPrefix(rest, "failed/processing-failed/"):
				for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					var rec struct {
						AttemptsMade            int
						ArrivalTimestamp        int64
						ErrorCode, ErrorMessage string
						RawData, LambdaArn      string
					}
					if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.ErrorCode != "Lambda.ProcessingFailedStatus" || rec.ArrivalTimestamp == 0 {
						t.Fatalf("%s: %q: %v", key, line, err)
					}
					raw, _ := base64.StdEncoding.DecodeString(rec.RawData)
					o.failed = append(o.failed, strings.TrimSuffix(string(raw), "\n"))
				}
			default:
				t.Fatalf("object %s", key)
			}
		}
		done := true
		for _, o := range got {
			sort.Strings(o.ok)
			sort.Strings(o.failed)
			done = done && slices.Equal(o.ok, wantOK) && slices.Equal(o.failed, wantFailed)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node delivered %q, failed %q; jq delivered %q, failed %q; want %q and %q",
				got["fh-node"].ok, got["fh-node"].failed, got["fh-jq"].ok, got["fh-jq"].failed, wantOK, wantFailed)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// rieShim runs a Python handler for one invocation as the Runtime
// Interface Emulator would: the event on stdin, the handler's result (or
// its error object, exit status 3) on stdout, its prints on stderr.
const rieShim = `
import json, os, sys, traceback
sys.path.insert(0, sys.argv[1])
out, sys.stdout = sys.stdout, sys.stderr
class Context:
    aws_request_id = sys.argv[2]
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    def get_remaining_time_in_millis(self):
        return 3000
event = json.load(sys.stdin)
try:
    import lambda_function
    out.write(json.dumps(lambda_function.lambda_handler(event, Context())))
except Exception as e:
    out.write(json.dumps({"errorMessage": str(e), "errorType": type(e).__name__, "stackTrace": traceback.format_tb(e.__traceback__)}))
    sys.exit(3)
`

// urlKindAsZipKind (§5 test 14): the same Python handler as a zip function
// and behind an emulator on the RIE path, as a url function, answers the
// AWS CLI alike: the result (with the request id the log tail names), and
// a function error.
func (a *acceptance) urlKindAsZipKind(t *testing.T) {
	handlerDir, err := filepath.Abs("../internal/server/testdata/functions/python")
	if err != nil {
		t.Fatal(err)
	}
	rie := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != riePath || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		cmd := exec.Command("python3", "-c", rieShim, handlerDir, r.Header.Get("X-Amz-Request-Id"))
		cmd.Env = append(os.Environ(), "AWS_LAMBDA_FUNCTION_NAME=kind-url", "AWS_ENDPOINT_URL=http://"+a.addr, "CUSTOM=yes")
		cmd.Stdin = r.Body
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(out)
	}))
	defer rie.Close()
	a.urlFunction(t, "kind-url", rie.URL)
	a.aws(t, "lambda", "create-function", "--function-name", "kind-zip", "--runtime", "python3.11", "--handler", "lambda_function.lambda_handler",
		"--role", accRole, "--zip-file", "fileb://"+a.writeZip(t, "kind-zip", readFiles(t, handlerDir)), "--environment", "Variables={CUSTOM=yes}")
	type answer struct {
		StatusCode                                int
		FunctionError, ExecutedVersion, LogResult string
		body                                      map[string]any
	}
	invoke := func(fn, payload string) answer {
		t.Helper()
		outFile := filepath.Join(a.dir, fn+".out")
		var ans answer
		a.awsJSON(t, &ans, "lambda", "invoke", "--function-name", fn, "--cli-binary-format", "raw-in-base64-out", "--payload", payload, "--log-type", "Tail", outFile)
		b, _ := os.ReadFile(outFile)
		if err := json.Unmarshal(b, &ans.body); err != nil {
			t.Fatalf("%s answered %s: %v", fn, b, err)
		}
		logs, _ := base64.StdEncoding.DecodeString(ans.LogResult)
		ans.LogResult = string(logs)
		return ans
	}
	for _, payload := range []string{`{"N":7,"nested":{"a":[1,2]}}`, `{"fail":true}`} {
		url, zip := invoke("kind-url", payload), invoke("kind-zip", payload)
		for _, ans := range []*answer{&url, &zip} {
			if id, _ := ans.body["requestId"].(string); id != "" {
				if !strings.HasPrefix(ans.LogResult, "START RequestId: "+id) || !strings.Contains(ans.LogResult, "REPORT RequestId: "+id) {
					t.Fatalf("answer %v: the log tail %q names another request", ans.body, ans.LogResult)
				}
				delete(ans.body, "requestId")
			}
			if ans.body["function"] != nil {
				ans.body["function"] = "(name)"
			}
			delete(ans.body, "stackTrace") // frames differ: the RIE's and Rheos's runtime clients
			ans.LogResult = ""
		}
		if url.StatusCode != 200 || !reflect.DeepEqual(url, zip) {
			t.Fatalf("payload %s: the url function answered %+v %v, the zip function %+v %v", payload, url, url.body, zip, zip.body)
		}
	}
}
