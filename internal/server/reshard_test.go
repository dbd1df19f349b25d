package server_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// followStream reads a stream the way KCL does: every shard from
// TRIM_HORIZON, parents to their end (GetRecords returns ChildShards and no
// NextShardIterator), then their children. It returns data → sequence
// number, failing on duplicates or reordering within a shard.
func followStream(t *testing.T, ts *testServer, name string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(name), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtTrimHorizon}})
	if err != nil {
		t.Fatal(err)
	}
	queue := shardIDs(out.Shards)
	started := map[string]bool{}
	for _, id := range queue {
		started[id] = true
	}
	seen := map[string]string{}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		it := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String(name), ShardId: aws.String(id), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		last := ""
		for {
			res, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Records {
				d, seq := string(r.Data), aws.ToString(r.SequenceNumber)
				if prev, dup := seen[d]; dup {
					t.Fatalf("record %s read twice (%s, %s)", d, prev, seq)
				}
				if last != "" && !(len(seq) > len(last) || len(seq) == len(last) && seq > last) {
					t.Fatalf("shard %s out of order: %s after %s", id, seq, last)
				}
				seen[d], last = seq, seq
			}
			if res.NextShardIterator == nil {
				for _, ch := range res.ChildShards {
					c := aws.ToString(ch.ShardId)
					if !started[c] {
						started[c] = true
						queue = append(queue, c)
					}
				}
				break
			}
			if len(res.Records) == 0 {
				// An open shard, read to its current end.
				break
			}
			it = *res.NextShardIterator
		}
	}
	return seen
}

func TestReshardLineageUnderLoad(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	const name = "reshard"
	ts.createStream(t, name, 2)

	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				d := fmt.Sprintf("w%d-%d", w, i)
				_, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: aws.String(d), Data: []byte(d)})
				if err == nil {
					mu.Lock()
					acked[d] = true
					mu.Unlock()
				}
			}
		}(w)
	}
	waitUpdated := func() {
		t.Helper()
		ts.waitActive(t, name)
	}
	time.Sleep(50 * time.Millisecond)
	// Split shard 0 in the middle of its range.
	if _, err := ts.kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(name), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("85070591730234615865843651857942052864")}); err != nil {
		t.Fatal(err)
	}
	// A second reshard while UPDATING is refused.
	_, err := ts.kc.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(name), ShardToMerge: aws.String("shardId-000000000002"), AdjacentShardToMerge: aws.String("shardId-000000000003")})
	wantErr(t, err, "ResourceInUseException", "Stream reshard under account 000000000000 not ACTIVE, instead in state UPDATING")
	waitUpdated()
	time.Sleep(50 * time.Millisecond)
	// Splitting the closed parent is refused.
	_, err = ts.kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(name), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("1000")})
	wantErr(t, err, "InvalidArgumentException", "Shard shardId-000000000000 in stream reshard under account 000000000000 has already been merged or split, and thus is not eligible for merging or splitting.")
	// Merge the two children back.
	if _, err := ts.kc.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(name), ShardToMerge: aws.String("shardId-000000000002"), AdjacentShardToMerge: aws.String("shardId-000000000003")}); err != nil {
		t.Fatal(err)
	}
	waitUpdated()
	time.Sleep(50 * time.Millisecond)
	// Scale uniformly to 4.
	us, err := ts.kc.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(name), TargetShardCount: aws.Int32(4), ScalingType: types.ScalingTypeUniformScaling})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(us.CurrentShardCount) != 2 || aws.ToInt32(us.TargetShardCount) != 4 {
		t.Fatalf("UpdateShardCount = %d -> %d", aws.ToInt32(us.CurrentShardCount), aws.ToInt32(us.TargetShardCount))
	}
	waitUpdated()
	// Non-adjacent shards cannot merge.
	_, err = ts.kc.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(name), ShardToMerge: aws.String("shardId-000000000005"), AdjacentShardToMerge: aws.String("shardId-000000000007")})
	wantErr(t, err, "InvalidArgumentException", "Shards shardId-000000000005 and shardId-000000000007 in stream reshard under account 000000000000 are not an adjacent pair of shards eligible for merging")
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()

	// Lineage as DescribeStream and ListShards show it.
	all, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	parents := map[string][2]string{}
	open := 0
	for _, s := range all.Shards {
		parents[aws.ToString(s.ShardId)] = [2]string{aws.ToString(s.ParentShardId), aws.ToString(s.AdjacentParentShardId)}
		if s.SequenceNumberRange.EndingSequenceNumber == nil {
			open++
		}
	}
	if len(all.Shards) != 9 || open != 4 {
		t.Fatalf("%d shards, %d open; want 9 and 4", len(all.Shards), open)
	}
	if p := parents["shardId-000000000002"]; p[0] != "shardId-000000000000" {
		t.Fatalf("split child parents = %v", p)
	}
	if p := parents["shardId-000000000004"]; p != [2]string{"shardId-000000000002", "shardId-000000000003"} {
		t.Fatalf("merge child parents = %v", p)
	}
	latest, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(name), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}})
	if err != nil || len(latest.Shards) != 4 {
		t.Fatalf("AT_LATEST: %d shards, %v", len(latest.Shards), err)
	}

	// Every acknowledged record is read exactly once following the lineage.
	seen := followStream(t, ts, name)
	mu.Lock()
	defer mu.Unlock()
	for d := range acked {
		if _, ok := seen[d]; !ok {
			t.Fatalf("acknowledged record %s was not read", d)
		}
	}
	if len(acked) < 50 {
		t.Fatalf("only %d records were acknowledged: the load did not run", len(acked))
	}
	t.Logf("%d acknowledged records read exactly once across a split, a merge and a rescale", len(acked))

	// Out-of-range scaling is refused.
	_, err = ts.kc.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(name), TargetShardCount: aws.Int32(9), ScalingType: types.ScalingTypeUniformScaling})
	var ia *types.InvalidArgumentException
	if !errors.As(err, &ia) {
		t.Fatalf("scaling above double: %v", err)
	}
}
