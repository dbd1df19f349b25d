package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAWSCLI walks the AWS CLI (`aws --endpoint-url`) through create-stream,
// put-record, get-shard-iterator and get-records against the real binary.
func TestAWSCLI(t *testing.T) {
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatal("the AWS CLI is required (make test installs it): ", err)
	}
	dir := t.TempDir()
	p := startServer(t, filepath.Join(dir, "data"), freePort(t))
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(awsBin, append([]string{"--endpoint-url", "http://" + p.addr, "--region", "us-east-1", "--output", "json", "kinesis"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws kinesis %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var m map[string]any
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("aws kinesis %s: bad JSON %q", args[0], out)
			}
		}
		return m
	}
	run("create-stream", "--stream-name", "cli-stream", "--shard-count", "2")
	var status string
	for i := 0; i < 100; i++ {
		d := run("describe-stream-summary", "--stream-name", "cli-stream")
		status = d["StreamDescriptionSummary"].(map[string]any)["StreamStatus"].(string)
		if status == "ACTIVE" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status != "ACTIVE" {
		t.Fatalf("stream status %s", status)
	}
	// Both CLI v1 and v2 are handled: v2 takes --data as base64 by default
	// (cli_binary_format), v1 takes the raw text and encodes it.
	payload := base64.StdEncoding.EncodeToString([]byte("hello from the aws cli"))
	put := run("put-record", "--stream-name", "cli-stream", "--partition-key", "pk-1", "--data", payload)
	shardID, _ := put["ShardId"].(string)
	seq, _ := put["SequenceNumber"].(string)
	if !strings.HasPrefix(shardID, "shardId-") || len(seq) != 56 {
		t.Fatalf("put-record returned %v", put)
	}
	it := run("get-shard-iterator", "--stream-name", "cli-stream", "--shard-id", shardID, "--shard-iterator-type", "TRIM_HORIZON")
	iter, _ := it["ShardIterator"].(string)
	if iter == "" {
		t.Fatalf("get-shard-iterator returned %v", it)
	}
	got := run("get-records", "--shard-iterator", iter)
	recs, _ := got["Records"].([]any)
	if len(recs) != 1 {
		t.Fatalf("get-records returned %d records: %v", len(recs), got)
	}
	r := recs[0].(map[string]any)
	if r["SequenceNumber"] != seq || r["PartitionKey"] != "pk-1" {
		t.Fatalf("record = %v", r)
	}
	data, err := base64.StdEncoding.DecodeString(r["Data"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "hello from the aws cli" && string(data) != payload {
		t.Fatalf("data = %q", data)
	}
	if _, ok := got["NextShardIterator"].(string); !ok {
		t.Fatalf("no NextShardIterator on an open shard: %v", got)
	}
	// Errors come back in AWS's shape, which the CLI prints.
	cmd := exec.Command(awsBin, "--endpoint-url", "http://"+p.addr, "--region", "us-east-1", "kinesis", "describe-stream", "--stream-name", "missing")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ResourceNotFoundException") || !strings.Contains(string(out), "Stream missing under account 000000000000 not found.") {
		t.Fatalf("describe-stream of a missing stream: %v\n%s", err, out)
	}
	p.terminate(t)
}

// TestAWSCLISignatureVerification: with --auth verify, the AWS CLI's real
// SigV4 signatures pass with the right secret and fail with a wrong one.
func TestAWSCLISignatureVerification(t *testing.T) {
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatal("the AWS CLI is required (make test installs it): ", err)
	}
	p := startServerWith(t, filepath.Join(t.TempDir(), "data"), freePort(t),
		[]string{"RHEOS_ROOT_ACCESS_KEY_ID=AKIDCLIROOT", "RHEOS_ROOT_SECRET_ACCESS_KEY=cli-root-secret"}, "--auth", "verify")
	run := func(secret string, args ...string) (string, error) {
		cmd := exec.Command(awsBin, append([]string{"--endpoint-url", "http://" + p.addr, "--region", "eu-west-1", "--output", "json", "kinesis"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDCLIROOT", "AWS_SECRET_ACCESS_KEY="+secret, "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("cli-root-secret", "create-stream", "--stream-name", "signed", "--shard-count", "1"); err != nil {
		t.Fatalf("correctly signed create-stream: %v\n%s", err, out)
	}
	out, err := run("cli-root-secret", "list-streams")
	if err != nil || !strings.Contains(out, `"signed"`) {
		t.Fatalf("list-streams: %v\n%s", err, out)
	}
	out, err = run("wrong-secret", "list-streams")
	if err == nil || !strings.Contains(out, "InvalidSignatureException") {
		t.Fatalf("a wrong secret was not refused: %v\n%s", err, out)
	}
	p.terminate(t)
}
