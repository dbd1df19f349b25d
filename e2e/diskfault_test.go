package e2e

// Disk faults on the real binary (docs/RELIABILITY.md, "Disk faults"):
//
//   - TestDiskFaultFsyncEIO: fsync fails with EIO (strace fault injection);
//   - TestDiskFullTmpfs: the data directory's filesystem fills up (a small
//     tmpfs in a private mount namespace), then grows;
//   - TestTornSegmentTail: a torn, garbage-extended or bit-flipped active
//     segment found on restart.
//
// Each test checks the written-down expectation: nothing unsynced is
// acknowledged, writes are refused with the retryable InternalFailure while
// the fault lasts, reads keep working and serve only acknowledged records,
// the server recovers by itself once the fault clears, damaged records are
// never served and are reported, and every acknowledged record survives.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// faultStream is the stream the fault tests use; verifyLedger reads it.
const faultStream = "crash"

// requireTools fails (never skips) when a tool the test needs is missing.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required by this test but is not in PATH: `make test` installs it (scripts/test-deps.sh)", tool)
		}
	}
}

// requireRoot skips a test that needs root (CI runs as root, so it runs
// there), saying why.
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("skipped: needs root (%s); run `make test` as root (CI does) to include it", why)
	}
}

// awsErrorCode returns the AWS error code and HTTP status of an SDK error.
func awsErrorCode(err error) (string, int) {
	var code interface{ ErrorCode() string }
	var status interface{ HTTPStatusCode() int }
	c, s := "", 0
	if errors.As(err, &code) {
		c = code.ErrorCode()
	}
	if errors.As(err, &status) {
		s = status.HTTPStatusCode()
	}
	return c, s
}

// wantInternalFailure checks that a PutRecord was refused with the
// retryable 500 InternalFailure.
func wantInternalFailure(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: acknowledged, want a 500 InternalFailure", what)
	}
	if code, status := awsErrorCode(err); code != "InternalFailure" || status != 500 {
		t.Fatalf("%s: got %q (HTTP %d): %v; want InternalFailure (HTTP 500)", what, code, status, err)
	}
}

// served is one record as GetRecords returned it.
type served struct {
	shard, seq, data string
}

// readAllRecords reads every shard of faultStream from TRIM_HORIZON.
func readAllRecords(t *testing.T, c *kinesis.Client) []served {
	t.Helper()
	ctx := context.Background()
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(faultStream)})
	if err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	var out []served
	for _, s := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(faultStream), ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatalf("GetShardIterator: %v", err)
		}
		iter := it.ShardIterator
		for {
			res, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatalf("GetRecords: %v", err)
			}
			for _, r := range res.Records {
				out = append(out, served{aws.ToString(s.ShardId), aws.ToString(r.SequenceNumber), string(r.Data)})
			}
			if len(res.Records) == 0 {
				break
			}
			iter = res.NextShardIterator
		}
	}
	return out
}

// checkServed compares what the stream serves with the ledger: every
// acknowledged record not in mayMiss is served once with its acknowledged
// shard and sequence number; a record in mayMiss is not served at all; a
// served record outside the ledger must be in mayAppear (attempted but not
// acknowledged), never unknown or damaged bytes. Sequence numbers strictly
// increase within a shard. It returns the number of served records that were
// not acknowledged.
func checkServed(t *testing.T, recs []served, ledger []acked, mayMiss, mayAppear map[string]bool, label string) int {
	t.Helper()
	byData := map[string]served{}
	last := map[string]string{}
	for _, r := range recs {
		if prev, dup := byData[r.data]; dup {
			t.Fatalf("%s: record %q served twice (%s and %s)", label, short(r.data), prev.seq, r.seq)
		}
		byData[r.data] = r
		if p, ok := last[r.shard]; ok && !seqLess(p, r.seq) {
			t.Fatalf("%s: shard %s out of order: %s then %s", label, r.shard, p, r.seq)
		}
		last[r.shard] = r.seq
	}
	inLedger := map[string]bool{}
	for _, a := range ledger {
		inLedger[a.data] = true
		got, ok := byData[a.data]
		switch {
		case mayMiss[a.data] && ok:
			t.Fatalf("%s: record %q of a damaged frame was served (seq %s)", label, short(a.data), got.seq)
		case mayMiss[a.data]:
		case !ok:
			t.Fatalf("%s: acknowledged record %q (shard %s seq %s) is missing", label, short(a.data), a.shard, a.seq)
		case got.seq != a.seq || got.shard != a.shard:
			t.Fatalf("%s: record %q served as %s/%s, acknowledged as %s/%s", label, short(a.data), got.shard, got.seq, a.shard, a.seq)
		}
	}
	extra := 0
	for d, r := range byData {
		if inLedger[d] {
			continue
		}
		if !mayAppear[d] {
			t.Fatalf("%s: served record %q (shard %s seq %s) was never acknowledged nor attempted", label, short(d), r.shard, r.seq)
		}
		extra++
	}
	return extra
}

func short(s string) string { return s[:min(len(s), 24)] }

// putOne sends one PutRecord; on success it appends to the ledger.
func putOne(c *kinesis.Client, ledger *[]acked, data string) error {
	out, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{
		StreamName: aws.String(faultStream), PartitionKey: aws.String(data), Data: []byte(data),
	})
	if err == nil {
		*ledger = append(*ledger, acked{aws.ToString(out.ShardId), aws.ToString(out.SequenceNumber), data})
	}
	return err
}

// fileContains reports whether the server log holds s.
func fileContains(t *testing.T, path, s string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(s))
}

// logLines returns the server log lines holding s.
func logLines(t *testing.T, path, s string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// dumpLogOnFailure prints the end of the server log if the test fails.
func dumpLogOnFailure(t *testing.T, path string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		b, _ := os.ReadFile(path)
		if len(b) > 8<<10 {
			b = b[len(b)-8<<10:]
		}
		t.Logf("server log %s (end):\n%s", path, b)
	})
}

// tracer is an strace attached to a running server, injecting fsync faults.
type tracer struct {
	cmd  *exec.Cmd
	out  string
	done chan struct{}
}

// attachFsyncFault attaches strace to every thread of pid and makes every
// fsync fail with EIO until stop detaches it. strace counts the calls of
// when=N per traced thread, and Go moves goroutines between threads, so a
// count given at startup does not name one particular fsync of the log
// writer; attaching at a chosen moment with when=1+ (every call) and
// detaching to clear the fault makes the fault window exact. The log
// commits with fdatasync (fsync for renames and checkpoints), so both fail;
// nothing writes the metadata store (bbolt, also fdatasync) while a fault
// is armed.
func attachFsyncFault(t *testing.T, pid int, dir string) *tracer {
	t.Helper()
	out := filepath.Join(dir, fmt.Sprintf("strace-%d.out", time.Now().UnixNano()))
	errPath := out + ".stderr"
	errf, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("strace", "-f", "-p", strconv.Itoa(pid), "-o", out,
		"-e", "trace=fsync,fdatasync", "-e", "inject=fsync,fdatasync:error=EIO:when=1+")
	cmd.Stdout, cmd.Stderr = errf, errf
	if err := cmd.Start(); err != nil {
		t.Fatalf("strace: %v", err)
	}
	tr := &tracer{cmd: cmd, out: out, done: make(chan struct{})}
	go func() { cmd.Wait(); errf.Close(); close(tr.done) }()
	t.Cleanup(func() { tr.stop() })
	// strace reports "Process N attached with M threads" once every thread
	// is traced; the fault is armed from then on.
	deadline := time.Now().Add(10 * time.Second)
	for !fileContains(t, errPath, "attached") {
		select {
		case <-tr.done:
			b, _ := os.ReadFile(errPath)
			t.Fatalf("strace exited before attaching (ptrace not permitted?): %s", b)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("strace did not attach within 10s")
		}
	}
	return tr
}

// stop detaches strace (SIGINT makes it detach cleanly, leaving the tracee
// running) and returns the number of fsync calls it failed.
func (tr *tracer) stop() int {
	select {
	case <-tr.done:
	default:
		tr.cmd.Process.Signal(syscall.SIGINT)
		<-tr.done
	}
	b, _ := os.ReadFile(tr.out)
	return bytes.Count(b, []byte("(INJECTED)"))
}

// waitPutAccepted retries a PutRecord every 50ms until it is acknowledged,
// checking that every refusal is an InternalFailure, and returns the time
// it took.
func waitPutAccepted(t *testing.T, c *kinesis.Client, ledger *[]acked, prefix string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for i := 0; ; i++ {
		err := putOne(c, ledger, fmt.Sprintf("%s-%03d", prefix, i))
		if err == nil {
			return time.Since(start)
		}
		wantInternalFailure(t, err, "put while recovering")
		if time.Since(start) > limit {
			t.Fatalf("puts still refused %v after the fault cleared: the server did not recover by itself", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDiskFaultFsyncEIO injects EIO into fsync on the running server.
//
// Expected: the put whose fsync failed is not acknowledged (500
// InternalFailure); while the fault lasts every put is refused with
// InternalFailure and reads serve exactly the acknowledged records; a fault
// that clears is recovered from by the server itself (the sweeper retries
// Recover every second) without a restart; after a restart following a
// persistent fault every acknowledged record is present exactly once.
func TestDiskFaultFsyncEIO(t *testing.T) {
	requireTools(t, "strace")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "data.log")
	dumpLogOnFailure(t, logPath)
	addr := freePort(t)
	p := startServer(t, data, addr)
	c := client(addr)
	createStream(t, c, faultStream, 2)
	var ledger []acked
	attempted := map[string]bool{}
	put := func(d string) error { attempted[d] = true; return putOne(c, &ledger, d) }
	for i := 0; i < 20; i++ {
		if err := put(fmt.Sprintf("before-%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	injected := 0

	// Phase 1, a transient fault: fsync fails from the moment strace
	// attaches until it detaches right after one put, whose fsync fails;
	// then the server recovers by itself, without a restart.
	tr := attachFsyncFault(t, p.cmd.Process.Pid, dir)
	err := put("eio-transient")
	wantInternalFailure(t, err, "put whose fsync failed")
	n := tr.stop()
	injected += n
	if n < 1 {
		t.Fatal("strace injected no fsync fault")
	}
	checkServed(t, readAllRecords(t, c), ledger, nil, nil, "reads after the failed fsync")
	took := waitPutAccepted(t, c, &ledger, "recovering-1", 3*time.Second)
	t.Logf("transient fault: %d fsync(s) failed; puts accepted again %v after the fault cleared", n, took.Round(time.Millisecond))
	for i := 0; i < 20; i++ {
		if err := put(fmt.Sprintf("between-%03d", i)); err != nil {
			t.Fatalf("put after recovery: %v", err)
		}
	}
	// Recover cut the unacknowledged frame away: it is not served.
	checkServed(t, readAllRecords(t, c), ledger, nil, nil, "after recovery")

	// Phase 2, a persistent fault: every fsync fails for 2.5s (at least two
	// of the sweeper's Recover attempts); puts are refused, reads work.
	tr = attachFsyncFault(t, p.cmd.Process.Pid, dir)
	refused := 0
	for start := time.Now(); time.Since(start) < 2500*time.Millisecond; refused++ {
		err := put(fmt.Sprintf("eio-persistent-%03d", refused))
		wantInternalFailure(t, err, "put under a persistent fsync fault")
		if refused%10 == 0 {
			checkServed(t, readAllRecords(t, c), ledger, nil, nil, "reads under a persistent fsync fault")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !fileContains(t, logPath, "streamlog write-failed") || !fileContains(t, logPath, "input/output error") {
		t.Error("the server log does not report the failed fsync (streamlog write-failed ... input/output error)")
	}
	// Crash while the fault lasts, restart without it.
	p.kill()
	n = tr.stop()
	injected += n
	if n < 2 {
		t.Fatalf("strace injected %d fsync faults under a persistent fault, want the put's and Recover's", n)
	}
	p = startServer(t, data, addr)
	verifyLedger(t, c, ledger, "after restart without the fault")
	extra := checkServed(t, readAllRecords(t, c), ledger, nil, attempted, "after restart without the fault")
	if err := put("after-restart"); err != nil {
		t.Fatalf("put after restart: %v", err)
	}
	t.Logf("RESULT fsync-EIO: %d acknowledged records verified, %d fsync faults injected, %d refused puts, %d unacknowledged records reappeared, 0 lost",
		len(ledger), injected, refused+1, extra)
	p.terminate(t)
}

// startServerArgv is startServer for a command line that wraps the server
// (nsenter ...); the server log goes to logPath.
func startServerArgv(t *testing.T, argv []string, addr, logPath string) *proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, addr: addr, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("server exited early: %v\n%s", cmd.ProcessState, b)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("server on %s did not become healthy", addr)
	return nil
}

// mountNamespace is a private mount namespace held open by a sleeping
// process; commands enter it with nsenter.
type mountNamespace struct{ pid int }

func newMountNamespace(t *testing.T) mountNamespace {
	t.Helper()
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sleep", "infinity")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", cmd.Process.Pid)); err == nil && ns != self {
			return mountNamespace{cmd.Process.Pid}
		}
		select {
		case <-exited:
			t.Fatalf("unshare -m failed (the test needs root, or CAP_SYS_ADMIN, for a private tmpfs): %s", stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare did not enter a new mount namespace")
		}
	}
}

// run runs a command inside the namespace.
func (ns mountNamespace) run(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(ns.pid), "-m", "--"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestDiskFullTmpfs runs the server on a 3 MiB tmpfs (in a private mount
// namespace) and fills it.
//
// Expected: once the disk is full, puts are refused with the retryable
// InternalFailure and reads serve exactly the acknowledged records; after
// the filesystem grows the server recovers by itself (no restart) and
// accepts puts; every acknowledged record is readable, nothing else is;
// SIGTERM exits 0 and a restart finds every acknowledged record.
func TestDiskFullTmpfs(t *testing.T) {
	requireRoot(t, "it mounts a 3 MiB tmpfs in a private mount namespace")
	requireTools(t, "unshare", "nsenter", "mount")
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	// 1 MiB segments, so that filling the disk also crosses segment seals
	// (index writes, new segment files).
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, []byte(`{"storage": {"segmentBytes": 1048576}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ns := newMountNamespace(t)
	ns.run(t, "mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt)
	data := filepath.Join(mnt, "data")
	logPath := filepath.Join(dir, "server.log")
	dumpLogOnFailure(t, logPath)
	addr := freePort(t)
	argv := []string{"nsenter", "-t", strconv.Itoa(ns.pid), "-m", "--", rheosBinary(t), "serve", "--config", cfgPath,
		"--addr", addr, "--data-dir", data, "--create-delay", "50ms", "--log-level", "info"}
	p := startServerArgv(t, argv, addr, logPath)
	c := client(addr)
	createStream(t, c, faultStream, 2)

	var ledger []acked
	attempted := map[string]bool{}
	batch := 0
	// putBatch sends one PutRecords of 4 records of 24 KiB; it returns
	// whether they were acknowledged (all or none: one batch is one frame).
	putBatch := func() bool {
		t.Helper()
		entries := make([]types.PutRecordsRequestEntry, 4)
		for i := range entries {
			d := fmt.Sprintf("full-%04d-%d-", batch, i)
			d += strings.Repeat("x", 24<<10-len(d))
			attempted[d] = true
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("pk-%d-%d", batch, i)), Data: []byte(d)}
		}
		batch++
		out, err := c.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(faultStream), Records: entries})
		if err != nil {
			t.Fatalf("PutRecords failed as a whole (want per-record InternalFailure): %v", err)
		}
		failed := int(aws.ToInt32(out.FailedRecordCount))
		if failed != 0 && failed != len(entries) {
			t.Fatalf("PutRecords: %d of %d records failed; one batch is one frame, want all or none", failed, len(entries))
		}
		for i, r := range out.Records {
			if r.ErrorCode != nil {
				if aws.ToString(r.ErrorCode) != "InternalFailure" {
					t.Fatalf("PutRecords on a full disk: error %q (%s), want the retryable InternalFailure", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
				}
				continue
			}
			ledger = append(ledger, acked{aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber), string(entries[i].Data)})
		}
		return failed == 0
	}

	// Fill the disk: 3 MiB hold about 30 batches.
	full := false
	for i := 0; i < 100 && !full; i++ {
		full = !putBatch()
	}
	if !full {
		t.Fatal("100 batches of 96 KiB were acknowledged on a 3 MiB tmpfs: the disk never filled")
	}
	ackedFull := len(ledger)
	if ackedFull == 0 {
		t.Fatal("the first put already failed: no record was acknowledged before the disk filled")
	}
	// While the disk stays full (2.5s: at least two Recover attempts),
	// every put is refused and reads serve exactly the acknowledged records.
	refused := 1
	for start := time.Now(); time.Since(start) < 2500*time.Millisecond; refused++ {
		if putBatch() {
			t.Fatal("a put was acknowledged while the disk is full")
		}
		checkServed(t, readAllRecords(t, c), ledger, nil, nil, "reads on a full disk")
		time.Sleep(100 * time.Millisecond)
	}
	if !fileContains(t, logPath, "no space left on device") {
		t.Error("the server log does not report ENOSPC")
	}

	// Grow the filesystem: the server recovers by itself.
	ns.run(t, "mount", "-o", "remount,size=16m", mnt)
	start := time.Now()
	for !putBatch() {
		if time.Since(start) > 3*time.Second {
			t.Fatal("puts still refused 3s after the disk grew: the server did not recover by itself")
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(start)
	for i := 0; i < 20; i++ { // about 2 MiB more: crosses segment seals
		if !putBatch() {
			t.Fatal("put refused after recovery")
		}
	}
	checkServed(t, readAllRecords(t, c), ledger, nil, nil, "after the disk grew")
	p.terminate(t) // exits 0 or fails the test

	p = startServerArgv(t, argv, addr, logPath)
	verifyLedger(t, c, ledger, "after restart")
	extra := checkServed(t, readAllRecords(t, c), ledger, nil, attempted, "after restart")
	failures, recoveries := logLines(t, logPath, `"msg":"streamlog write-failed"`), logLines(t, logPath, `"msg":"streamlog recovered"`)
	if len(failures) == 0 || len(recoveries) == 0 {
		t.Errorf("server log: %d write-failed and %d recovered events, want both", len(failures), len(recoveries))
	} else {
		t.Logf("first failure: %s", failures[0])
	}
	t.Logf("RESULT disk-full: %d records acknowledged before the disk filled, %d refused batches while full, recovered %v after growing, %d acknowledged records verified after restart, %d unacknowledged records reappeared, 0 lost; %d write failures, %d recoveries",
		ackedFull, refused, took.Round(time.Millisecond), len(ledger), extra, len(failures), len(recoveries))
	p.terminate(t)
}

// segFrame is one frame of a segment file, parsed by the layout in
// internal/streamlog/FORMAT.md.
type segFrame struct {
	off, end int
	dataAt   int      // offset of the middle of the first record's data
	data     []string // the frame's record data
}

// parseSegmentFile walks a segment file frame by frame; it must be
// undamaged.
func parseSegmentFile(t *testing.T, b []byte) []segFrame {
	t.Helper()
	le := binary.LittleEndian
	const segHeader, frameHeader, sectionHeader, recordHeader = 32, 24, 20, 23
	if len(b) < segHeader || string(b[:8]) != "RHEOSSEG" {
		t.Fatal("segment file: bad header")
	}
	var frames []segFrame
	for p := segHeader; p < len(b); {
		if len(b)-p < frameHeader || le.Uint32(b[p:]) != 0x46534852 {
			t.Fatalf("segment file: no frame at %d", p)
		}
		f := segFrame{off: p, end: p + int(le.Uint32(b[p+4:]))}
		q := p + frameHeader
		for range le.Uint32(b[p+16:]) {
			count, area := le.Uint32(b[q+8:]), int(le.Uint32(b[q+12:]))
			r := q + sectionHeader
			for range count {
				kl, dl := int(le.Uint16(b[r+17:])), int(le.Uint32(b[r+19:]))
				start := r + recordHeader + kl
				if f.dataAt == 0 {
					f.dataAt = start + dl/2
				}
				f.data = append(f.data, string(b[start:start+dl]))
				r = start + dl
			}
			q += sectionHeader + area
		}
		if q != f.end || f.end > len(b) {
			t.Fatalf("segment file: frame at %d does not parse", p)
		}
		frames = append(frames, f)
		p = f.end
	}
	return frames
}

// lastSegment returns the path of the newest segment file.
func lastSegment(t *testing.T, data string) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(data, "log", "*.seg"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no segment files under %s: %v", data, err)
	}
	sort.Strings(segs)
	return segs[len(segs)-1]
}

// TestTornSegmentTail damages the newest segment of a SIGKILLed server and
// restarts it.
//
// Expected: garbage after the last frame and a torn (partially written)
// frame are truncated on restart ("streamlog torn-tail" in the log) and
// every acknowledged record is served exactly once. A bit flipped inside an
// acknowledged frame fails its checksum: the frame's records are never
// served (neither with damaged bytes nor at all), the corruption is reported
// ("streamlog corruption"), every other record is served, the server stays
// up and accepts puts, and sequence numbers keep increasing: none of the
// damaged frame's numbers is given to a new record.
func TestTornSegmentTail(t *testing.T) {
	type damage struct {
		name string
		// apply damages the segment bytes and returns the new bytes and the
		// frame whose records may no longer be served (nil: none).
		apply func(b []byte, frames []segFrame, rng *rand.Rand) ([]byte, *segFrame)
		log   string
	}
	cases := []damage{
		{"garbage-appended", func(b []byte, _ []segFrame, rng *rand.Rand) ([]byte, *segFrame) {
			g := make([]byte, 4096)
			for i := range g {
				g[i] = byte(rng.Uint32())
			}
			return append(b, g...), nil
		}, `"msg":"streamlog torn-tail"`},
		{"torn-frame", func(b []byte, frames []segFrame, _ *rand.Rand) ([]byte, *segFrame) {
			// A write cut short by a crash: the first part of a frame (here a
			// copy of the last one, valid header and all) and then nothing.
			f := frames[len(frames)-1]
			return append(b, b[f.off:f.off+(f.end-f.off)/2]...), nil
		}, `"msg":"streamlog torn-tail"`},
		{"bit-flip-record", func(b []byte, frames []segFrame, _ *rand.Rand) ([]byte, *segFrame) {
			f := frames[len(frames)/2]
			b[f.dataAt] ^= 0x10
			return b, &f
		}, `"msg":"streamlog corruption"`},
		{"bit-flip-frame-header", func(b []byte, frames []segFrame, _ *rand.Rand) ([]byte, *segFrame) {
			f := frames[len(frames)/2]
			b[f.off+5] ^= 0x01 // the frame length
			return b, &f
		}, `"msg":"streamlog corruption"`},
		{"bit-flip-segment-header", func(b []byte, _ []segFrame, _ *rand.Rand) ([]byte, *segFrame) {
			b[21] ^= 0x04 // the creation time
			return b, nil
		}, `"msg":"streamlog corruption"`},
		{"bit-flip-last-frame", func(b []byte, frames []segFrame, _ *rand.Rand) ([]byte, *segFrame) {
			f := frames[len(frames)-1]
			b[f.dataAt] ^= 0x10
			return b, &f
		}, `"msg":"streamlog corruption"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			rng := rand.New(rand.NewPCG(seed, 11))
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			logPath := filepath.Join(dir, "data.log")
			dumpLogOnFailure(t, logPath)
			addr := freePort(t)
			p := startServer(t, data, addr)
			c := client(addr)
			createStream(t, c, faultStream, 2)
			var ledger []acked
			// 30 sequential PutRecords: 30 frames, most with both shards.
			for b := 0; b < 30; b++ {
				entries := make([]types.PutRecordsRequestEntry, 5)
				for i := range entries {
					entries[i] = types.PutRecordsRequestEntry{
						PartitionKey: aws.String(fmt.Sprintf("pk-%d", rng.IntN(1000))),
						Data:         []byte(fmt.Sprintf("torn-%02d-%d-%s", b, i, strings.Repeat("y", 20+rng.IntN(300)))),
					}
				}
				out, err := c.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(faultStream), Records: entries})
				if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
					t.Fatalf("PutRecords: %v", err)
				}
				for i, r := range out.Records {
					ledger = append(ledger, acked{aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber), string(entries[i].Data)})
				}
			}
			p.kill()

			seg := lastSegment(t, data)
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			frames := parseSegmentFile(t, b)
			if len(frames) != 30 {
				t.Fatalf("segment holds %d frames, want one per PutRecords (30)", len(frames))
			}
			b, bad := tc.apply(b, frames, rng)
			if err := os.WriteFile(seg, b, 0o644); err != nil {
				t.Fatal(err)
			}
			mayMiss := map[string]bool{}
			if bad != nil {
				for _, d := range bad.data {
					mayMiss[d] = true
				}
			}

			p = startServer(t, data, addr)
			checkServed(t, readAllRecords(t, c), ledger, mayMiss, nil, tc.name+" (seed "+strconv.FormatUint(seed, 10)+")")
			if !fileContains(t, logPath, tc.log) {
				t.Errorf("the server log does not report the damage (%s)", tc.log)
			}
			// The server stays up and keeps numbering after every number it
			// ever acknowledged, damaged frame included.
			maxSeq := map[string]string{}
			for _, a := range ledger {
				if m, ok := maxSeq[a.shard]; !ok || seqLess(m, a.seq) {
					maxSeq[a.shard] = a.seq
				}
			}
			before := len(ledger)
			for i := 0; i < 20; i++ {
				if err := putOne(c, &ledger, fmt.Sprintf("after-%s-%02d", tc.name, i)); err != nil {
					t.Fatalf("put after restart: %v", err)
				}
				a := ledger[len(ledger)-1]
				if !seqLess(maxSeq[a.shard], a.seq) {
					t.Fatalf("new record on %s got sequence number %s, not above %s acknowledged before the damage: a sequence number was reused", a.shard, a.seq, maxSeq[a.shard])
				}
			}
			checkServed(t, readAllRecords(t, c), ledger, mayMiss, nil, tc.name+" after new puts")
			t.Logf("RESULT torn/%s: %d acknowledged records, %d in the damaged frame not served, %d verified, 20 new puts numbered above",
				tc.name, before, len(mayMiss), len(ledger)-len(mayMiss))
			p.terminate(t)
		})
	}
}
