package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/streamlog"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// TestRetentionExpiresAndReclaims checks that records older than the
// retention period are no longer served and that their segments are deleted.
func TestRetentionExpiresAndReclaims(t *testing.T) {
	var dataDir string
	srv, clk, c := startClocked(t, func(cfg *config.Config) {
		cfg.SegmentBytes = 1 << 20
		cfg.SweepInterval = config.Duration(time.Hour) // sweeps are driven by the test
		dataDir = cfg.DataDir
	})
	ctx := context.Background()
	name := aws.String("ret")
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: name, ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	put := func(n int) {
		for i := 0; i < n; i++ {
			recs := make([]types.PutRecordsRequestEntry, 100)
			for j := range recs {
				recs[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: make([]byte, 1000)}
			}
			if _, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: name, Records: recs}); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(30) // ~3 MB: several 1 MiB segments
	before := dirSize(t, filepath.Join(dataDir, "log"))
	clk.Add(25 * time.Hour) // past the default 24 h retention
	put(1)                  // fresh records that must survive
	if err := srv.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	after := dirSize(t, filepath.Join(dataDir, "log"))
	if after >= before/2 {
		t.Fatalf("log size %d -> %d: expired segments were not reclaimed", before, after)
	}
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: name, ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	iter := it.ShardIterator
	for {
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			if r.ApproximateArrivalTimestamp.Before(clk.Now().Add(-24 * time.Hour)) {
				t.Fatalf("expired record served: %v", r.ApproximateArrivalTimestamp)
			}
		}
		total += len(out.Records)
		if len(out.Records) == 0 {
			break
		}
		iter = out.NextShardIterator
	}
	if total != 100 {
		t.Fatalf("read %d records after expiry, want the 100 fresh ones", total)
	}
	t.Logf("retention: log %d -> %d bytes", before, after)
}

// startClocked serves a fresh data directory with an injected clock (so
// tests move time instead of sleeping) and returns the server, the clock
// and an SDK client without retries. mut may adjust the configuration.
func startClocked(t *testing.T, mut func(*config.Config)) (*Server, *testClock, *kinesis.Client) {
	t.Helper()
	clk := &testClock{t: time.Now()}
	cfg := config.Default()
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	cfg.CreateDelay, cfg.UpdateDelay = config.Duration(time.Millisecond), config.Duration(time.Millisecond)
	if mut != nil {
		mut(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, cfg, slog.New(slog.DiscardHandler), Options{Now: clk.Now})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	c := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + srv.Addr()), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	return srv, clk, c
}

// TestRetentionComposedPerOwner: the shared log's retention is composed
// over every service holding keys in it. A key another owner holds keeps
// its records through Kinesis's sweeps, expires by that owner's own
// timestamp, and is dropped once no owner holds it (before the composition,
// Kinesis's sweep dropped every key it did not know).
func TestRetentionComposedPerOwner(t *testing.T) {
	srv, clk, c := startClocked(t, func(cfg *config.Config) {
		cfg.SweepInterval = config.Duration(time.Hour) // sweeps are driven by the test
	})
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("k"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	const key = 1 << 40 // a key of another service (a buffer, a fragment store)
	var mu sync.Mutex
	held, minTs := true, int64(0)
	srv.store.own(logOwner{name: "other", retainedFrom: func(k uint64) (int64, bool) {
		mu.Lock()
		defer mu.Unlock()
		return minTs, k == key && held
	}})
	if _, err := srv.store.log.Append(ctx, srv.store.fence, []streamlog.Entry{{Shard: key, Data: []byte("first")}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	if _, err := srv.store.log.Append(ctx, srv.store.fence, []streamlog.Entry{{Shard: key, Data: []byte("second")}}); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		recs, err := srv.store.log.Read(key, 0, streamlog.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	if err := srv.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("after a sweep, the other owner's key has %d records, want 2", n)
	}
	mu.Lock()
	minTs = clk.Now().Add(-30 * time.Second).UnixMilli() // the owner's retention: the first record expires
	mu.Unlock()
	if err := srv.store.log.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if recs, _ := srv.store.log.Read(key, 0, streamlog.ReadOptions{MinTimestamp: minTs}); len(recs) != 1 || string(recs[0].Data) != "second" {
		t.Fatalf("after the owner's retention, %d records", len(recs))
	}
	mu.Lock()
	held = false // the owner deleted its resource
	mu.Unlock()
	if err := srv.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("a key no owner holds still has %d records after a sweep", n)
	}
}

// TestSpaceFollowsDeletionAndRetention: three streams share the log's
// segments. Deleting the biggest frees its bytes within one sweep although
// the others' records, in the same segments, live on (segments whose live
// fraction falls below half are compacted); a 24 h stream's expired records
// free their space while a 7-day stream beside it keeps its own.
func TestSpaceFollowsDeletionAndRetention(t *testing.T) {
	var dataDir string
	srv, clk, c := startClocked(t, func(cfg *config.Config) {
		cfg.SegmentBytes = 1 << 20
		cfg.SweepInterval = config.Duration(time.Hour) // sweeps are driven by the test
		cfg.DeleteDelay = config.Duration(time.Millisecond)
		dataDir = cfg.DataDir
	})
	ctx := context.Background()
	for _, n := range []string{"short", "long", "gone"} {
		if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(n), ShardCount: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Second)
	if _, err := c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("long"), RetentionPeriodHours: aws.Int32(168)}); err != nil {
		t.Fatal(err)
	}
	// Interleave the three streams so that every segment holds all three;
	// "gone" writes three fifths of the bytes, the others one fifth each.
	for i := 0; i < 30; i++ {
		for _, n := range []string{"short", "long", "gone"} {
			count := 20
			if n == "gone" {
				count = 60
			}
			recs := make([]types.PutRecordsRequestEntry, count)
			for j := range recs {
				recs[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: make([]byte, 1000)}
			}
			if _, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(n), Records: recs}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := srv.store.log.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	full := dirSize(t, filepath.Join(dataDir, "log"))
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	if err := srv.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	afterDelete := dirSize(t, filepath.Join(dataDir, "log"))
	if afterDelete > full/2 {
		t.Fatalf("deleting the stream with 3/5 of the bytes: log %d -> %d bytes, want about two fifths", full, afterDelete)
	}
	clk.Add(25 * time.Hour) // "short" (24 h) expires, "long" (168 h) does not
	if err := srv.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	afterExpiry := dirSize(t, filepath.Join(dataDir, "log"))
	if afterExpiry > full/4 {
		t.Fatalf("after the 24 h stream expired: log %d -> %d -> %d bytes, want about one fifth", full, afterDelete, afterExpiry)
	}
	// The 7-day stream still has every record.
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("long"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	total, iter := 0, it.ShardIterator
	for {
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		total += len(out.Records)
		if len(out.Records) == 0 {
			break
		}
		iter = out.NextShardIterator
	}
	if total != 600 {
		t.Fatalf("the 7-day stream has %d records, want 600", total)
	}
	t.Logf("log bytes: %d with three streams, %d after deleting one, %d after the 24 h one expired", full, afterDelete, afterExpiry)
}
