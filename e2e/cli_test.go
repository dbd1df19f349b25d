package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rheos/rheos/internal/kpl"
)

// TestRheosCLI drives the built-in client commands against the real server.
func TestRheosCLI(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, filepath.Join(dir, "data"), freePort(t))
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(rheosBinary(t), append(args, "--endpoint", "http://"+p.addr)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("rheos %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// config print shows the effective configuration with secrets redacted.
	cmd := exec.Command(rheosBinary(t), "config", "print", "--throughput", "aws")
	cmd.Env = append(os.Environ(), "RHEOS_ROOT_ACCESS_KEY_ID=AKID", "RHEOS_ROOT_SECRET_ACCESS_KEY=top-secret")
	cfgOut, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(cfgOut), `"throughputMode": "aws"`) || strings.Contains(string(cfgOut), "top-secret") {
		t.Fatalf("config print: %v\n%s", err, cfgOut)
	}
	if out := run("", "streams", "create", "cli", "--shards", "3"); !strings.Contains(out, "created cli") {
		t.Fatalf("create: %q", out)
	}
	if out := run("", "kinesis", "streams", "list"); !strings.Contains(out, "cli\tACTIVE\tPROVISIONED") {
		t.Fatalf("list: %q", out)
	}
	out := run("", "streams", "describe", "cli")
	if !strings.Contains(out, "open shards:\t3") || strings.Count(out, "shardId-") != 3 {
		t.Fatalf("describe: %q", out)
	}
	if out := run("", "put", "cli", "key-1", "single"); !strings.HasPrefix(out, "shardId-") {
		t.Fatalf("put: %q", out)
	}
	out = run("one\ntwo\nthree\n", "kinesis", "put", "cli", "key-2")
	if strings.Count(out, "shardId-") != 3 {
		t.Fatalf("put from stdin: %q", out)
	}
	out = run("", "kinesis", "tail", "cli", "--from", "trim-horizon", "--exit-when-idle", "300ms", "--poll", "50ms")
	for _, want := range []string{"\tkey-1\tsingle", "\tkey-2\tone", "\tkey-2\ttwo", "\tkey-2\tthree"} {
		if !strings.Contains(out, want) {
			t.Fatalf("tail output lacks %q:\n%s", want, out)
		}
	}
	// Records of one partition key stay in order.
	if i, j := strings.Index(out, "\tone"), strings.Index(out, "\tthree"); i < 0 || j < i {
		t.Fatalf("tail order wrong:\n%s", out)
	}
	// A KPL-aggregated record is stored as sent and shown de-aggregated.
	agg := kpl.Aggregate([]kpl.Record{{PartitionKey: "user-a", Data: []byte("first")}, {PartitionKey: "user-b", Data: []byte("second")}})
	if _, err := client(p.addr).PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("cli"), PartitionKey: aws.String("agg"), Data: agg}); err != nil {
		t.Fatal(err)
	}
	out = run("", "tail", "cli", "--from", "trim-horizon", "--exit-when-idle", "300ms", "--poll", "50ms")
	if !regexp.MustCompile(`\t\d+:0\tuser-a\tfirst`).MatchString(out) || !regexp.MustCompile(`\t\d+:1\tuser-b\tsecond`).MatchString(out) {
		t.Fatalf("aggregated record not de-aggregated by tail:\n%s", out)
	}
	if out := run("", "streams", "delete", "cli"); !strings.Contains(out, "deleting cli") {
		t.Fatalf("delete: %q", out)
	}
}

// TestSecondServerOnSameDataDir: a second `rheos serve` on a data directory
// in use exits at once with a message naming the directory and the pid of
// the server holding it.
func TestSecondServerOnSameDataDir(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, dir, freePort(t))
	start := time.Now()
	out, err := exec.Command(rheosBinary(t), "serve", "--data-dir", dir, "--addr", freePort(t)).CombinedOutput()
	if err == nil {
		t.Fatalf("the second server started:\n%s", out)
	}
	want := fmt.Sprintf("%s is used by another process (pid %d)", dir, p.cmd.Process.Pid)
	if !strings.Contains(string(out), want) {
		t.Fatalf("second server said %q, want %q", out, want)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the refusal took %v", took)
	}
}
