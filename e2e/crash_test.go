package e2e

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

var crashCycles = flag.Int("crash-cycles", 10, "SIGKILL/restart cycles in TestCrashKill")

type acked struct {
	shard string
	seq   string
	data  string
}

// TestCrashKill loads the real binary with concurrent PutRecords, SIGKILLs it
// mid-load, restarts it on the same data directory and checks that every
// acknowledged record is readable exactly once, in per-shard order.
func TestCrashKill(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freePort(t)
	p := startServer(t, data, addr)
	c := client(addr)
	createStream(t, c, "crash", 4)

	var ledger []acked
	var mu sync.Mutex
	var next atomic.Int64
	for cycle := 0; cycle < *crashCycles; cycle++ {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for ctx.Err() == nil {
					n := 1 + int(next.Load()%50)
					entries := make([]types.PutRecordsRequestEntry, n)
					for i := range entries {
						id := next.Add(1)
						entries[i] = types.PutRecordsRequestEntry{
							PartitionKey: aws.String(fmt.Sprintf("pk-%d", id%97)),
							Data:         []byte(fmt.Sprintf("rec-%d-%s", id, strings.Repeat("x", int(id%300)))),
						}
					}
					out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("crash"), Records: entries})
					if err != nil {
						continue // not acknowledged: connection killed or refused
					}
					mu.Lock()
					for i, r := range out.Records {
						if r.ErrorCode == nil {
							ledger = append(ledger, acked{aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber), string(entries[i].Data)})
						}
					}
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		p.kill()
		cancel()
		wg.Wait()
		p = startServer(t, data, addr)
		verifyLedger(t, c, ledger, fmt.Sprintf("cycle %d (seed %d)", cycle, seed))
	}
	mu.Lock()
	n := len(ledger)
	mu.Unlock()
	if n == 0 {
		t.Fatal("no record was acknowledged: the load did not run")
	}
	t.Logf("%d cycles, %d acknowledged records verified", *crashCycles, n)
	p.terminate(t)
}

// verifyLedger reads every shard from TRIM_HORIZON and checks the ledger.
func verifyLedger(t *testing.T, c *kinesis.Client, ledger []acked, label string) {
	t.Helper()
	ctx := context.Background()
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("crash")})
	if err != nil {
		t.Fatalf("%s: ListShards: %v", label, err)
	}
	type stored struct {
		seq  string
		data string
	}
	byShard := map[string][]stored{}
	for _, s := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("crash"), ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatalf("%s: GetShardIterator: %v", label, err)
		}
		iter := it.ShardIterator
		for {
			out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatalf("%s: GetRecords: %v", label, err)
			}
			for _, r := range out.Records {
				byShard[aws.ToString(s.ShardId)] = append(byShard[aws.ToString(s.ShardId)], stored{aws.ToString(r.SequenceNumber), string(r.Data)})
			}
			if len(out.Records) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	// Per-shard order: strictly increasing sequence numbers; no duplicates.
	seen := map[string]string{} // data -> seq
	for shard, recs := range byShard {
		for i, r := range recs {
			if i > 0 && !seqLess(recs[i-1].seq, r.seq) {
				t.Fatalf("%s: shard %s out of order at %d: %s then %s", label, shard, i, recs[i-1].seq, r.seq)
			}
			if prev, dup := seen[r.data]; dup {
				t.Fatalf("%s: record %q stored twice (%s and %s)", label, r.data[:min(20, len(r.data))], prev, r.seq)
			}
			seen[r.data] = r.seq
		}
	}
	for _, a := range ledger {
		got, ok := seen[a.data]
		if !ok {
			t.Fatalf("%s: acknowledged record %q (shard %s seq %s) is missing", label, a.data[:min(20, len(a.data))], a.shard, a.seq)
		}
		if got != a.seq {
			t.Fatalf("%s: record %q has seq %s, acknowledged as %s", label, a.data[:min(20, len(a.data))], got, a.seq)
		}
	}
}

// seqLess compares decimal sequence numbers.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
