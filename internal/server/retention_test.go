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
