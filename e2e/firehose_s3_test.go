package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// s3CLI runs AWS CLI v2's s3 commands against an endpoint.
func s3CLI(t *testing.T, endpoint, akid, secret string, args ...string) string {
	t.Helper()
	cmd := exec.Command("/usr/bin/aws", append([]string{"--endpoint-url", endpoint, "--region", "us-east-1"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+akid, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_PAGER=",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// syncedObjects downloads a bucket prefix with `aws s3 sync` and returns
// each object's (decompressed when .gz) bytes by key.
func syncedObjects(t *testing.T, endpoint, akid, secret, bucketPrefix string) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	s3CLI(t, endpoint, akid, secret, "s3", "sync", "--only-show-errors", "s3://"+bucketPrefix, dir)
	out := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			b, _ = io.ReadAll(zr)
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	return out
}

// putLines puts records "prefix-0000\n"… with PutRecordBatch.
func putLines(t *testing.T, addr, stream, prefix string, n int) []string {
	t.Helper()
	var want []string
	for start := 0; start < n; start += 100 {
		var recs []any
		for i := start; i < min(start+100, n); i++ {
			line := fmt.Sprintf("%s-%04d", prefix, i)
			want = append(want, line)
			recs = append(recs, map[string]any{"Data": base64.StdEncoding.EncodeToString([]byte(line + "\n"))})
		}
		status, out, err := firehoseCall(addr, "PutRecordBatch", map[string]any{"DeliveryStreamName": stream, "Records": recs})
		if err != nil || status != 200 || out["FailedPutCount"].(float64) != 0 {
			t.Fatalf("put: %d %v %v", status, out, err)
		}
	}
	return want
}

func createAndWait(t *testing.T, addr string, in map[string]any) {
	t.Helper()
	if status, out, err := firehoseCall(addr, "CreateDeliveryStream", in); err != nil || status != 200 {
		t.Fatalf("create: %d %v %v", status, out, err)
	}
	waitFor(t, func() bool {
		_, d, _ := firehoseCall(addr, "DescribeDeliveryStream", map[string]any{"DeliveryStreamName": in["DeliveryStreamName"]})
		desc, _ := d["DeliveryStreamDescription"].(map[string]any)
		return desc != nil && desc["DeliveryStreamStatus"] == "ACTIVE"
	})
}

// linesOf splits objects into their lines, sorted.
func linesOf(objs map[string][]byte) []string {
	var lines []string
	for _, b := range objs {
		for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	sort.Strings(lines)
	return lines
}

func waitLines(t *testing.T, fetch func() map[string][]byte, want []string) map[string][]byte {
	t.Helper()
	sort.Strings(want)
	var objs map[string][]byte
	deadline := time.Now().Add(30 * time.Second)
	for {
		objs = fetch()
		if got := linesOf(objs); strings.Join(got, ",") == strings.Join(want, ",") {
			return objs
		} else if time.Now().After(deadline) {
			t.Fatalf("delivered %d lines, want %d: first %v", len(got), len(want), got[:min(5, len(got))])
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestFirehoseToBuiltinS3: DirectPut → the built-in S3 on the same port,
// objects read back with `aws s3`, decompressed and compared record for
// record, named under the evaluated prefix as AWS names them.
func TestFirehoseToBuiltinS3(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	endpoint := "http://" + p.addr
	s3CLI(t, endpoint, "AKIDEXAMPLE", "secret", "s3", "mb", "s3://lake")
	createAndWait(t, p.addr, map[string]any{
		"DeliveryStreamName": "clicks",
		"ExtendedS3DestinationConfiguration": map[string]any{
			"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::lake",
			"Prefix": "clicks/year=!{timestamp:yyyy}/", "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
			"BufferingHints": map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0}, "CompressionFormat": "GZIP",
		},
	})
	want := putLines(t, p.addr, "clicks", "click", 500)
	objs := waitLines(t, func() map[string][]byte { return syncedObjects(t, endpoint, "AKIDEXAMPLE", "secret", "lake/clicks/") }, want)
	year := time.Now().UTC().Format("2006")
	for key := range objs {
		if !strings.HasPrefix(key, "year="+year+"/clicks-1-") || !strings.HasSuffix(key, ".gz") {
			t.Errorf("object key %q", key)
		}
	}
}

// TestFirehoseToExternalS3: the same against a real external S3 server
// (versitygw, installed by scripts/test-deps.sh), configured with
// --firehose-s3-endpoint.
func TestFirehoseToExternalS3(t *testing.T) {
	gw, err := exec.LookPath("versitygw")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		gw = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "versitygw")
		if _, err := os.Stat(gw); err != nil {
			t.Fatal("versitygw is required (scripts/test-deps.sh installs it with go install): ", err)
		}
	}
	root := t.TempDir()
	gwAddr := freePort(t)
	cmd := exec.Command(gw, "--access", "AKIDGW", "--secret", "gw-secret", "--port", gwAddr, "posix", root)
	logf, _ := os.Create(filepath.Join(t.TempDir(), "versitygw.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", gwAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	gwURL := "http://" + gwAddr
	s3CLI(t, gwURL, "AKIDGW", "gw-secret", "s3", "mb", "s3://external")
	p := startServerWith(t, filepath.Join(t.TempDir(), "data"), freePort(t),
		[]string{"RHEOS_FIREHOSE_S3_ACCESS_KEY_ID=AKIDGW", "RHEOS_FIREHOSE_S3_SECRET_ACCESS_KEY=gw-secret"},
		"--firehose-s3-endpoint", gwURL)
	createAndWait(t, p.addr, map[string]any{
		"DeliveryStreamName": "ext",
		"ExtendedS3DestinationConfiguration": map[string]any{
			"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::external", "Prefix": "data/",
			"BufferingHints": map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0}, "CompressionFormat": "GZIP",
		},
	})
	want := putLines(t, p.addr, "ext", "ext", 300)
	waitLines(t, func() map[string][]byte { return syncedObjects(t, gwURL, "AKIDGW", "gw-secret", "external/data/") }, want)
}

// TestFirehoseBackupObjects: a failing HTTP endpoint and a failing Lambda
// processor produce AWS's backup objects (http-endpoint-failed,
// processing-failed) in the built-in S3, with the raw records.
func TestFirehoseBackupObjects(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"records": "not a list"}`) // breaks the processor contract
	}))
	defer broken.Close()
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	endpoint := "http://" + p.addr
	s3CLI(t, endpoint, "AKIDEXAMPLE", "secret", "s3", "mb", "s3://backup")
	// A url function standing for a broken Lambda processor.
	s3CLI(t, endpoint, "AKIDEXAMPLE", "secret", "lambda", "create-function", "--function-name", "broken", "--package-type", "Image",
		"--code", "ImageUri="+broken.URL, "--role", "arn:aws:iam::000000000000:role/r")
	s3conf := map[string]any{"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::backup", "Prefix": "http/"}
	createAndWait(t, p.addr, map[string]any{
		"DeliveryStreamName": "to-down",
		"HttpEndpointDestinationConfiguration": map[string]any{
			"EndpointConfiguration": map[string]any{"Url": down.URL},
			"BufferingHints":        map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0},
			"RetryOptions":          map[string]any{"DurationInSeconds": 2},
			"S3Configuration":       s3conf,
		},
	})
	createAndWait(t, p.addr, map[string]any{
		"DeliveryStreamName": "to-broken",
		"ExtendedS3DestinationConfiguration": map[string]any{
			"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::backup", "Prefix": "processed/",
			"ErrorOutputPrefix": "failed/!{firehose:error-output-type}/",
			"BufferingHints":    map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0},
			"ProcessingConfiguration": map[string]any{"Enabled": true, "Processors": []any{map[string]any{"Type": "Lambda",
				"Parameters": []any{
					map[string]any{"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:broken"},
					map[string]any{"ParameterName": "NumberOfRetries", "ParameterValue": "1"}}}}},
		},
	})
	wantHTTP := putLines(t, p.addr, "to-down", "down", 20)
	wantProc := putLines(t, p.addr, "to-broken", "proc", 20)
	check := func(prefix, errType string, want []string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			objs := syncedObjects(t, endpoint, "AKIDEXAMPLE", "secret", "backup/"+prefix)
			var raw []string
			for key, b := range objs {
				if !strings.Contains(key, errType+"/") {
					t.Errorf("backup object %s outside %s/", key, errType)
				}
				for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					var rec struct {
						AttemptsMade     int    `json:"attemptsMade"`
						ArrivalTimestamp int64  `json:"arrivalTimestamp"`
						ErrorCode        string `json:"errorCode"`
						ErrorMessage     string `json:"errorMessage"`
						RawData          string `json:"rawData"`
					}
					if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.ErrorCode == "" || rec.ArrivalTimestamp == 0 || rec.AttemptsMade == 0 {
						t.Fatalf("backup line %q: %v", line, err)
					}
					d, _ := base64.StdEncoding.DecodeString(rec.RawData)
					raw = append(raw, strings.TrimSpace(string(d)))
				}
			}
			sort.Strings(raw)
			sort.Strings(want)
			if strings.Join(raw, ",") == strings.Join(want, ",") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: backed up %v, want %v", errType, raw, want)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	check("http/", "http-endpoint-failed", wantHTTP)
	check("failed/", "processing-failed", wantProc)
}
