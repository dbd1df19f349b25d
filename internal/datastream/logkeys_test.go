package datastream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rheos/rheos/internal/metastore"
)

// TestDefaultLogKeysShareMetastoreSequence: the default allocator and
// metastore.LogKeys, racing on one store that holds the legacy counter,
// never hand out the same key and start above the legacy counter.
func TestDefaultLogKeysShareMetastoreSequence(t *testing.T) {
	if defaultLogKeySeq != metastore.LogKeySeq || legacyLogKeySeq != metastore.LegacyShardKeySeq {
		t.Fatal("the default allocator's keys differ from metastore's")
	}
	ctx := context.Background()
	meta := openTestMeta(t)
	if ok, _, err := meta.Commit(ctx, nil, map[string][]byte{legacyLogKeySeq: []byte("500")}, nil); !ok || err != nil {
		t.Fatal(ok, err)
	}
	var (
		mu   sync.Mutex
		seen = map[uint64]bool{}
		wg   sync.WaitGroup
	)
	for g := range 6 {
		var keys LogKeys = metaLogKeys{meta}
		if g%2 == 1 {
			keys = metastore.LogKeys(meta)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				n := 1 + (g+i)%3
				first, err := keys.Allocate(ctx, n)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for k := first; k < first+uint64(n); k++ {
					if k < 500 || seen[k] {
						t.Errorf("key %d reused or below the legacy counter", k)
					}
					seen[k] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if _, rev, _ := meta.Get(ctx, legacyLogKeySeq); rev != 0 {
		t.Fatal("legacy counter not migrated")
	}
}

// TestShardLogKeysNeverReused: creates, reshards, deletes and re-creates
// across reopened services (with the shared allocator and the default)
// give every shard a key no shard had before; a failed change leaves a gap.
func TestShardLogKeysNeverReused(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	meta := openTestMeta(t)
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	seen := map[uint64]string{}
	record := func(s *Service, name string) {
		t.Helper()
		st, _ := s.lookup(sc, name)
		for _, sh := range st.meta.Shards {
			owner := name + "/" + sh.id() + fmt.Sprint("@", st.meta.CreatedMs)
			if o, ok := seen[sh.Key]; ok && o != owner {
				t.Fatalf("log key %d given to %s and %s", sh.Key, o, owner)
			}
			seen[sh.Key] = owner
		}
	}
	for round := range 4 {
		cfg := Config{Now: clk.Now}
		if round%2 == 0 {
			cfg.LogKeys = metastore.LogKeys(meta)
		}
		s, err := New(ctx, cfg, meta, newMemLog())
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprint("s", round%2) // names come back after deletion
		createActive(t, s, clk, sc, name, 2)
		record(s, name)
		if err := s.SplitShard(ctx, sc, name, "shardId-000000000000", "1000"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(1e9)
		if _, err := s.UpdateShardCount(ctx, sc, name, 4); err != nil {
			t.Fatal(err)
		}
		clk.Advance(1e9)
		record(s, name)
		if err := s.DeleteStream(ctx, sc, name, false); err != nil {
			t.Fatal(err)
		}
		clk.Advance(1e9)
		if err := s.FinishDeletions(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// backwardKeys is an allocator that went back: it hands out 1 every time.
type backwardKeys struct{}

func (backwardKeys) Allocate(context.Context, int) (uint64, error) { return 1, nil }

// failingKeys fails every allocation.
type failingKeys struct{}

var errNoKeys = errors.New("allocator down")

func (failingKeys) Allocate(context.Context, int) (uint64, error) { return 0, errNoKeys }

// TestLogKeyAllocatorGoingBackIsRefused: keys at or below one a shard holds
// are refused rather than shared; a failing allocator fails the change.
func TestLogKeyAllocatorGoingBackIsRefused(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	s, _ := newTestService(t, Config{Now: clk.Now, LogKeys: backwardKeys{}})
	createActive(t, s, clk, sc, "a", 1)
	one := 1
	err := s.CreateStream(ctx, sc, CreateStreamInput{Name: "b", ShardCount: &one})
	var de *Error
	if !errors.As(err, &de) || de.Kind != KindInternal {
		t.Fatalf("CreateStream with keys going back: %v", err)
	}
	if err := s.SplitShard(ctx, sc, "a", "shardId-000000000000", "1000"); !errors.As(err, &de) || de.Kind != KindInternal {
		t.Fatalf("SplitShard with keys going back: %v", err)
	}
	s.cfg.LogKeys = failingKeys{}
	if err := s.CreateStream(ctx, sc, CreateStreamInput{Name: "c", ShardCount: &one}); !errors.Is(err, errNoKeys) {
		t.Fatalf("CreateStream with a failing allocator: %v", err)
	}
	if _, st := s.lookup(sc, "c"); st != "" {
		t.Fatal("stream created without log keys")
	}
}
