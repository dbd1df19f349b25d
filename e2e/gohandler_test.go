package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// buildGoBootstrap builds the aws-lambda-go handler in testdata/gohandler
// (its own module) as Lambda builds a provided.al2023 function, a static
// Linux binary named bootstrap, and returns a zip holding it at the root.
func buildGoBootstrap(t *testing.T) []byte {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, ".")
	build.Dir = filepath.Join("testdata", "gohandler")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the handler: %v\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(exe)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return zbuf.Bytes()
}

// runAWS runs an AWS CLI (a command line from awsCLIs) against the server
// at addr with JSON output and returns its output, failing t when it fails.
func runAWS(t *testing.T, cli, addr string, args ...string) []byte {
	t.Helper()
	argv := append(strings.Fields(cli), append([]string{"--endpoint-url", "http://" + addr, "--region", "us-east-1", "--output", "json"}, args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestGoBootstrapHandler: a Go handler written with aws-lambda-go and
// built unchanged (functions.md §5, test 2) runs as the bootstrap of a
// provided.al2023 function created with the AWS CLI: a RequestResponse
// invoke answers with its result, its Lambda context (request id, function
// ARN and name, a deadline) and the log tail; a returned error comes back
// as an Unhandled function error with Go's error type; and an event source
// mapping on a 2-shard stream delivers every record to it, in order per
// shard.
func TestGoBootstrapHandler(t *testing.T) {
	zipFile := buildGoBootstrap(t)
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "fn.zip")
	if err := os.WriteFile(zipPath, zipFile, 0o600); err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(dir, "records.txt")
	addr := freePort(t)
	startServerWith(t, t.TempDir(), addr, nil, "--functions-exec")
	cli := awsCLIs(t)["v2"]
	run := func(args ...string) []byte { t.Helper(); return runAWS(t, cli, addr, args...) }
	env, _ := json.Marshal(map[string]any{"Variables": map[string]string{"OUT_FILE": outFile}})
	var created struct{ FunctionArn, Runtime, Handler, State string }
	json.Unmarshal(run("lambda", "create-function", "--function-name", "go-fn", "--runtime", "provided.al2023", "--handler", "bootstrap",
		"--role", "arn:aws:iam::000000000000:role/r", "--zip-file", "fileb://"+zipPath, "--environment", string(env)), &created)
	arn := "arn:aws:lambda:us-east-1:000000000000:function:go-fn"
	if created.FunctionArn != arn || created.Runtime != "provided.al2023" || created.State != "Active" {
		t.Fatalf("create-function: %+v", created)
	}
	invoke := func(payload string) (status int, functionError, log string, body []byte) {
		t.Helper()
		out := filepath.Join(dir, "out.json")
		var inv struct {
			StatusCode    int
			FunctionError string
			LogResult     string
		}
		json.Unmarshal(run("lambda", "invoke", "--function-name", "go-fn", "--cli-binary-format", "raw-in-base64-out",
			"--payload", payload, "--log-type", "Tail", out), &inv)
		logs, _ := base64.StdEncoding.DecodeString(inv.LogResult)
		body, _ = os.ReadFile(out)
		return inv.StatusCode, inv.FunctionError, string(logs), body
	}
	status, fnErr, logs, body := invoke(`{"name":"rheos"}`)
	var res struct {
		Greeting, RequestID, FunctionArn, FunctionName string
		HasDeadline                                    bool
	}
	json.Unmarshal(body, &res)
	if status != 200 || fnErr != "" || res.Greeting != "hello rheos" || res.RequestID == "" || res.FunctionArn != arn ||
		res.FunctionName != "go-fn" || !res.HasDeadline || !strings.Contains(logs, "hello from go rheos") || !strings.Contains(logs, "REPORT RequestId: "+res.RequestID) {
		t.Fatalf("invoke: %d %q %s\nlog %q", status, fnErr, body, logs)
	}
	status, fnErr, _, body = invoke(`{"fail":true}`)
	var ferr struct{ ErrorMessage, ErrorType string }
	json.Unmarshal(body, &ferr)
	if status != 200 || fnErr != "Unhandled" || ferr.ErrorMessage != "asked to fail" || ferr.ErrorType != "errorString" {
		t.Fatalf("failing invoke: %d %q %s", status, fnErr, body)
	}

	// An event source mapping delivers a stream's records to the handler.
	kc := client(addr)
	createStream(t, kc, "go-src", 2)
	ctx := context.Background()
	const n = 60
	entries := make([]ktypes.PutRecordsRequestEntry, n)
	for i := range entries {
		entries[i] = ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("key-%d", i%7)), Data: []byte(fmt.Sprintf("rec-%03d", i))}
	}
	if out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("go-src"), Records: entries}); err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
		t.Fatalf("put: %+v %v", out, err)
	}
	var mapping struct{ UUID, State string }
	json.Unmarshal(run("lambda", "create-event-source-mapping", "--function-name", "go-fn", "--batch-size", "10",
		"--event-source-arn", "arn:aws:kinesis:us-east-1:000000000000:stream/go-src", "--starting-position", "TRIM_HORIZON"), &mapping)
	if mapping.UUID == "" || mapping.State != "Creating" {
		t.Fatalf("create-event-source-mapping: %+v", mapping)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(outFile)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		seen := map[string]bool{}
		lastSeq := map[string]string{}
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) != 3 {
				continue
			}
			shard, seq, _ := strings.Cut(f[0], ":")
			if prev := lastSeq[shard]; prev != "" && (len(seq) < len(prev) || len(seq) == len(prev) && seq < prev) {
				t.Fatalf("shard %s: %s delivered after %s", shard, seq, prev)
			}
			lastSeq[shard] = seq
			seen[f[2]] = true
		}
		if len(seen) == n {
			break
		}
		if time.Now().After(deadline) {
			got := make([]string, 0, len(seen))
			for k := range seen {
				got = append(got, k)
			}
			sort.Strings(got)
			t.Fatalf("%d of %d records reached the handler: %v", len(seen), n, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	run("lambda", "delete-event-source-mapping", "--uuid", mapping.UUID)
	run("lambda", "delete-function", "--function-name", "go-fn")
}
