package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/rheos/rheos/internal/clustertest"
)

// Fault tests of issue 18's tiered storage and etcd metadata, against the
// real binary, a real S3-compatible server (versitygw) and a real etcd
// member: the S3 server stopped for a minute under load, etcd restarted
// under load, SIGKILL during uploads.

// tierStatus is the part of GET /cluster/status these tests read.
type tierStatus struct {
	Meta          string `json:"meta"`
	MetaReachable bool   `json:"metaReachable"`
	Tier          struct {
		TieredSegments, BacklogSegments int
		LocalBytes, LocalLimit          int64
		UploadFailures, OrphansDeleted  int64
		CacheHits, CacheMisses          int64
	} `json:"tier"`
}

func clusterStatusOf(t *testing.T, p *proc) tierStatus {
	t.Helper()
	resp, err := http.Get("http://" + p.admin + "/cluster/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st tierStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func waitStatus(t *testing.T, p *proc, what string, within time.Duration, ok func(tierStatus) bool) tierStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := clusterStatusOf(t, p)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %+v", what, within, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tierEnv is the environment of a server tiering to s3 under prefix.
func tierEnv(s3 *clustertest.S3, endpoint, prefix string) []string {
	return []string{
		"RHEOS_BLOBS=s3://tier/" + prefix + "?endpoint=" + endpoint + "&path-style=true",
		"RHEOS_BLOBS_ACCESS_KEY_ID=" + s3.AccessKey, "RHEOS_BLOBS_SECRET_ACCESS_KEY=" + s3.SecretKey,
		"RHEOS_SEGMENT_BYTES=1048576", "RHEOS_SEGMENT_AGE=1s", "RHEOS_SWEEP_INTERVAL=500ms",
		// This test's own stores, not the matrix's.
		"RHEOS_META=embedded",
	}
}

// loader puts records into stream "crash" at about bytesPerSec and keeps
// the ledger of acknowledged ones, counting refusals by error code.
type loader struct {
	mu       sync.Mutex
	ledger   []acked
	refused  map[string]int
	acks     atomic.Int64
	cancel   context.CancelFunc
	done     chan struct{}
	clientEr atomic.Int64 // 4xx answers: never expected
}

// loadIDs numbers the records of every loader, so that records of
// successive loaders never look alike.
var loadIDs atomic.Int64

func startLoader(c *kinesis.Client, bytesPerSec int) *loader {
	ctx, cancel := context.WithCancel(context.Background())
	ld := &loader{refused: map[string]int{}, cancel: cancel, done: make(chan struct{})}
	const batch, size = 10, 1500
	interval := time.Duration(float64(time.Second) * float64(batch*size) / float64(bytesPerSec))
	go func() {
		defer close(ld.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for ctx.Err() == nil {
			entries := make([]types.PutRecordsRequestEntry, batch)
			for i := range entries {
				id := loadIDs.Add(1)
				entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("pk-%d", id%31)),
					Data: []byte(fmt.Sprintf("rec-%d-%s", id, strings.Repeat("y", size)))}
			}
			rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
			out, err := c.PutRecords(rctx, &kinesis.PutRecordsInput{StreamName: aws.String("crash"), Records: entries})
			rcancel()
			ld.mu.Lock()
			switch {
			case err != nil:
				var re *smithyhttp.ResponseError
				var ae smithy.APIError
				code := "connection"
				if errors.As(err, &ae) {
					code = ae.ErrorCode()
				}
				if errors.As(err, &re) && re.HTTPStatusCode() < 500 && re.HTTPStatusCode() != 400 {
					ld.clientEr.Add(1)
				} else if errors.As(err, &re) && re.HTTPStatusCode() == 400 && code != "ProvisionedThroughputExceededException" {
					ld.clientEr.Add(1)
				}
				ld.refused[code]++
			default:
				for i, r := range out.Records {
					if r.ErrorCode == nil {
						ld.ledger = append(ld.ledger, acked{aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber), string(entries[i].Data)})
						ld.acks.Add(1)
					} else {
						ld.refused[aws.ToString(r.ErrorCode)]++
					}
				}
			}
			ld.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	return ld
}

func (ld *loader) stop() []acked {
	ld.cancel()
	<-ld.done
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return append([]acked(nil), ld.ledger...)
}

func (ld *loader) refusals() map[string]int {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	m := map[string]int{}
	for k, v := range ld.refused {
		m[k] = v
	}
	return m
}

// localSegmentBytes is the size of the log's segment files on disk.
func localSegmentBytes(t *testing.T, data string) int64 {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(data, "log", "*.seg"))
	var n int64
	for _, f := range m {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestTieringS3DownUnderLoad stops the S3 server for 60 s while records
// are put: puts keep succeeding on the local tail until local segments
// reach the configured limit, then are refused with InternalFailure (a
// retryable error) while local disk stays bounded; once S3 is back the
// uploads catch up, puts are accepted again and nothing acknowledged is
// lost.
func TestTieringS3DownUnderLoad(t *testing.T) {
	dir := t.TempDir()
	s3, err := clustertest.StartS3(filepath.Join(dir, "s3"), "tier")
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Stop()
	data := filepath.Join(dir, "data")
	addr := freePort(t)
	const limit = 6 << 20
	p := startServerWith(t, data, addr, tierEnv(s3, s3.Endpoint, "down"), "--local-limit-bytes", fmt.Sprint(limit))
	c := client(addr)
	createStream(t, c, "crash", 2)
	ld := startLoader(c, 160<<10)
	waitStatus(t, p, "first upload", 30*time.Second, func(st tierStatus) bool { return st.Tier.TieredSegments > 0 })

	s3.Stop()
	down := time.Now()
	acksAtStop := ld.acks.Load()
	var maxLocal int64
	for time.Since(down) < 60*time.Second {
		maxLocal = max(maxLocal, localSegmentBytes(t, data))
		time.Sleep(250 * time.Millisecond)
	}
	acksWhileDown := ld.acks.Load() - acksAtStop
	refused := ld.refusals()
	st := clusterStatusOf(t, p)
	t.Logf("S3 down 60 s: %d records acknowledged on the local tail, refusals %v, local segments max %d bytes (limit %d), status %+v",
		acksWhileDown, refused, maxLocal, limit, st.Tier)
	if acksWhileDown == 0 {
		t.Fatal("no put succeeded while S3 was down: the local tail should take them")
	}
	if refused["InternalFailure"] == 0 {
		t.Fatalf("puts never refused once local segments reached the limit: %v", refused)
	}
	if ld.clientEr.Load() > 0 {
		t.Fatalf("%d refusals were not retryable", ld.clientEr.Load())
	}
	// The limit counts sealed segments and the active one's reservation;
	// the files themselves may pass it by at most one segment.
	if maxLocal > limit+(1<<20) {
		t.Fatalf("local segments grew to %d bytes with a limit of %d", maxLocal, limit)
	}
	if st.Tier.UploadFailures == 0 {
		t.Fatal("no failed upload reported while S3 was down")
	}

	if err := s3.Start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	waitStatus(t, p, "uploads catching up", 60*time.Second, func(st tierStatus) bool { return st.Tier.BacklogSegments == 0 })
	t.Logf("backlog uploaded %v after S3 came back", time.Since(back).Round(100*time.Millisecond))
	acksBack := ld.acks.Load()
	deadline := time.Now().Add(20 * time.Second)
	for ld.acks.Load() == acksBack {
		if time.Now().After(deadline) {
			t.Fatal("puts not accepted again after the uploads caught up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ledger := ld.stop()
	verifyLedger(t, c, ledger, "after S3 came back")
	t.Logf("%d acknowledged records verified", len(ledger))
	p.terminate(t)
}

// TestTieringEtcdRestartUnderLoad restarts the etcd member holding the
// metadata while records are put and the control plane is used: control
// calls fail with retryable (5xx) errors while etcd is down and work again
// after; puts keep being acknowledged (the data plane needs no metadata
// write) and every acknowledged record is readable.
func TestTieringEtcdRestartUnderLoad(t *testing.T) {
	dir := t.TempDir()
	s3, err := clustertest.StartS3(filepath.Join(dir, "s3"), "tier")
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Stop()
	etcd, err := clustertest.StartEtcd(filepath.Join(dir, "etcd"))
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Stop()
	data := filepath.Join(dir, "data")
	addr := freePort(t)
	env := append(tierEnv(s3, s3.Endpoint, "etcd"), "RHEOS_META=etcd://"+etcd.Endpoint+"/restart/")
	p := startServerWith(t, data, addr, env)
	if st := clusterStatusOf(t, p); !strings.HasPrefix(st.Meta, "etcd ") {
		t.Fatalf("metadata store %q", st.Meta)
	}
	c := client(addr)
	createStream(t, c, "crash", 2)
	ld := startLoader(c, 100<<10)

	var ctlMu sync.Mutex
	var ctlOK, ctlRetryable, ctlOther int
	var outage atomic.Bool
	var outageErrs int
	ctx, cancel := context.WithCancel(context.Background())
	ctlDone := make(chan struct{})
	go func() {
		defer close(ctlDone)
		for i := 0; ctx.Err() == nil; i++ {
			rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
			_, err := c.AddTagsToStream(rctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("crash"),
				Tags: map[string]string{"k": fmt.Sprint(i % 10)}})
			rcancel()
			ctlMu.Lock()
			var re *smithyhttp.ResponseError
			switch {
			case err == nil:
				ctlOK++
			case errors.As(err, &re) && re.HTTPStatusCode() >= 500:
				ctlRetryable++
				if outage.Load() {
					outageErrs++
				}
			case ctx.Err() != nil:
			default:
				ctlOther++
				t.Logf("control call: %v", err)
			}
			ctlMu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	time.Sleep(2 * time.Second)
	acksBefore := ld.acks.Load()
	outage.Store(true)
	etcd.Stop()
	time.Sleep(8 * time.Second)
	acksDuring := ld.acks.Load() - acksBefore
	if err := etcd.Start(); err != nil {
		t.Fatal(err)
	}
	outage.Store(false)
	ctlMu.Lock()
	okBefore := ctlOK
	ctlMu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctlMu.Lock()
		ok := ctlOK > okBefore
		ctlMu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("control plane not working 30 s after etcd came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	<-ctlDone
	ledger := ld.stop()
	t.Logf("etcd down 8 s: %d records acknowledged meanwhile; control calls ok %d, retryable errors %d (%d during the outage), other %d; refusals %v",
		acksDuring, ctlOK, ctlRetryable, outageErrs, ctlOther, ld.refusals())
	if ctlOther > 0 {
		t.Fatalf("%d control calls failed with a non-retryable error", ctlOther)
	}
	if outageErrs == 0 {
		t.Fatal("no control call failed while etcd was down: was it down?")
	}
	if acksDuring == 0 {
		t.Fatal("no put acknowledged while etcd was down")
	}
	if ld.clientEr.Load() > 0 {
		t.Fatalf("%d puts refused with a non-retryable error", ld.clientEr.Load())
	}
	verifyLedger(t, c, ledger, "after etcd came back")
	p.terminate(t)
}

// throttle is a TCP proxy that slows what clients send (uploads) to
// bytesPerSec, so that a segment upload takes long enough to be killed in
// the middle of.
func throttle(t *testing.T, target string, bytesPerSec int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				out, err := net.Dial("tcp", target)
				if err != nil {
					in.Close()
					return
				}
				go func() { io.Copy(in, out); in.Close() }()
				buf := make([]byte, 16<<10)
				for {
					n, err := in.Read(buf)
					if n > 0 {
						if _, werr := out.Write(buf[:n]); werr != nil {
							break
						}
						time.Sleep(time.Duration(float64(time.Second) * float64(n) / float64(bytesPerSec)))
					}
					if err != nil {
						break
					}
				}
				out.Close()
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// TestTieringKillDuringUpload SIGKILLs the server ten times while sealed
// segments are being uploaded (the uploads are slowed down so they are in
// flight most of the time), restarting it each time: every acknowledged
// record is read back each cycle, and after the last restart's orphan
// sweep the bucket holds exactly the objects of the tiered segments (the
// markers), none orphaned and none missing.
func TestTieringKillDuringUpload(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 18))
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	s3, err := clustertest.StartS3(filepath.Join(dir, "s3"), "tier")
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Stop()
	slow := throttle(t, strings.TrimPrefix(s3.Endpoint, "http://"), 600<<10)
	data := filepath.Join(dir, "data")
	addr := freePort(t)
	env := tierEnv(s3, slow, "kill")
	p := startServerWith(t, data, addr, env)
	c := client(addr)
	createStream(t, c, "crash", 3)
	var ledger []acked
	inFlight := 0
	for cycle := range 10 {
		ld := startLoader(c, 500<<10)
		time.Sleep(time.Duration(1500+rng.IntN(1500)) * time.Millisecond)
		if st := clusterStatusOf(t, p); st.Tier.BacklogSegments > 0 {
			inFlight++
		}
		p.kill()
		ledger = append(ledger, ld.stop()...)
		p = startServerWith(t, data, addr, env)
		verifyLedger(t, c, ledger, fmt.Sprintf("cycle %d (seed %d)", cycle, seed))
	}
	if inFlight < 5 {
		t.Fatalf("only %d of 10 kills came with segments waiting for upload", inFlight)
	}
	// Let the backlog drain, then restart once more: the first sweep after
	// Open lists the bucket and deletes what no segment accounts for.
	waitStatus(t, p, "backlog drained", 120*time.Second, func(st tierStatus) bool { return st.Tier.BacklogSegments == 0 })
	p.terminate(t)
	p = startServerWith(t, data, addr, env)
	time.Sleep(2 * time.Second) // a few sweeps (500 ms)
	st := clusterStatusOf(t, p)
	p.terminate(t)

	logID, err := os.ReadFile(filepath.Join(data, "log", "log.id"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	markers, _ := filepath.Glob(filepath.Join(data, "log", "*.tier"))
	for _, m := range markers {
		b, err := os.ReadFile(m)
		if err != nil || len(b) < 12 {
			t.Fatalf("marker %s: %v", m, err)
		}
		id := strings.TrimSuffix(filepath.Base(m), ".tier")
		gen := binary.LittleEndian.Uint16(b[10:])
		for _, ext := range []string{"seg", "idx"} {
			want[fmt.Sprintf("kill/%s/seg/%s-%05d.%s", strings.TrimSpace(string(logID)), id, gen, ext)] = true
		}
	}
	got := map[string]bool{}
	root := filepath.Join(s3.Root, "tier")
	filepath.WalkDir(filepath.Join(root, "kill"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			got[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	for k := range want {
		if !got[k] {
			t.Errorf("object %s of a tiered segment is missing", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("orphaned object %s", k)
		}
	}
	t.Logf("10 kills (%d with uploads pending), %d records verified, %d tiered segments, %d objects, %d orphans deleted by the last sweep",
		inFlight, len(ledger), len(markers), len(got), st.Tier.OrphansDeleted)
	if len(markers) == 0 {
		t.Fatal("nothing was tiered")
	}
}
