package datastream

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestPutToMissingStreamsKeepsNoState: puts naming streams, regions and
// accounts that do not exist leave nothing behind (they once left a put
// gate each, so any client could grow the server's memory without bound).
func TestPutToMissingStreamsKeepsNoState(t *testing.T) {
	s, _ := newTestService(t, Config{})
	ctx := context.Background()
	entries := []PutEntry{{PartitionKey: "pk", Data: []byte("x")}}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	const n = 100_000
	for i := range n {
		sc := Scope{Account: fmt.Sprintf("%012d", i%97), Region: fmt.Sprintf("region-%d", i%13)}
		_, err := s.Put(ctx, sc, fmt.Sprintf("no-such-stream-%d", i), entries, PutOptions{})
		var de *Error
		if !errors.As(err, &de) || de.Kind != KindNotFound {
			t.Fatalf("Put to a missing stream: %v", err)
		}
	}
	after := heap()
	s.mu.RLock()
	streams := len(s.streams)
	s.mu.RUnlock()
	if streams != 0 {
		t.Fatalf("%d streams after puts to missing ones", streams)
	}
	// 100,000 names once kept about 10 MiB; allow 1 MiB of noise.
	if after > before && after-before > 1<<20 {
		t.Fatalf("heap grew by %d bytes after %d puts to missing streams", after-before, n)
	}
	runtime.KeepAlive(s)
}

// TestReshardDuringPutsClosesShardsForGood: with puts running, a shard a
// reshard closed never receives a record past its EndingSequenceNumber,
// including after the stream was deleted and created again under the same
// name (a new incarnation gets a gate of its own).
func TestReshardDuringPutsClosesShardsForGood(t *testing.T) {
	clk := newTestClock()
	log := newMemLog()
	meta := openTestMeta(t)
	s, err := New(context.Background(), Config{Now: clk.Now}, meta, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	for incarnation := range 2 {
		createActive(t, s, clk, sc, "s", 1)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := s.Put(ctx, sc, "s", []PutEntry{{PartitionKey: fmt.Sprint(w, i), Data: []byte("d")}}, PutOptions{}); err != nil {
						t.Errorf("put: %v", err)
						return
					}
				}
			}()
		}
		for range 3 {
			info, err := s.Describe(sc, "s")
			if err != nil {
				t.Fatal(err)
			}
			var open []string
			for _, sh := range info.Shards {
				if sh.EndingSequenceNumber == "" {
					open = append(open, sh.ShardID)
				}
			}
			if _, err := s.UpdateShardCount(ctx, sc, "s", 2*len(open)); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Second)
		}
		close(stop)
		wg.Wait()
		st, _ := s.lookup(sc, "s")
		for _, sh := range st.meta.Shards {
			if !sh.Closed {
				continue
			}
			if next := log.Next(sh.Key); next-1 != sh.EndCounter {
				t.Fatalf("incarnation %d: shard %s closed at counter %d holds records up to %d", incarnation, sh.id(), sh.EndCounter, next-1)
			}
		}
		if err := s.DeleteStream(ctx, sc, "s", false); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		if err := s.FinishDeletions(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
