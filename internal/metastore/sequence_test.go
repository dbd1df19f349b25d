package metastore

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func allocate(t *testing.T, q *Sequence, n int) uint64 {
	t.Helper()
	first, err := q.Allocate(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return first
}

func TestSequenceAllocates(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	q := NewSequence(s, "seq")
	for _, c := range []struct {
		n    int
		want uint64
	}{{1, 1}, {3, 2}, {1, 5}, {10, 6}} {
		if got := allocate(t, q, c.n); got != c.want {
			t.Fatalf("Allocate(%d) = %d, want %d", c.n, got, c.want)
		}
	}
	if _, err := q.Allocate(context.Background(), 0); err == nil {
		t.Fatal("Allocate(0) succeeded")
	}
	// Another sequence on another key is independent.
	if got := allocate(t, NewSequence(s, "other"), 1); got != 1 {
		t.Fatalf("other sequence starts at %d", got)
	}
	// Durable: a reopened store goes on where it stopped.
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if got := allocate(t, NewSequence(s, "seq"), 1); got != 16 {
		t.Fatalf("after reopen: %d, want 16", got)
	}
}

// TestSequenceMigratesLegacyCounter: the first allocation starts at the
// legacy counter's value (the next key Data Streams would have handed out)
// and removes it in the same commit; later ones never go back.
func TestSequenceMigratesLegacyCounter(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name         string
		seq, legacy  string // "" = absent
		want, stored uint64
	}{
		{"legacy only", "", "42", 42, 44},
		{"neither", "", "", 1, 3},
		{"legacy below the new counter", "100", "50", 100, 102},
		{"legacy above the new counter", "100", "500", 500, 502},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := openTest(t, t.TempDir())
			defer s.Close()
			puts := map[string][]byte{}
			if c.seq != "" {
				puts[LogKeySeq] = []byte(c.seq)
			}
			if c.legacy != "" {
				puts[LegacyShardKeySeq] = []byte(c.legacy)
			}
			if len(puts) > 0 {
				if ok, _, err := s.Commit(ctx, nil, puts, nil); !ok || err != nil {
					t.Fatal(ok, err)
				}
			}
			q := LogKeys(s)
			if got := allocate(t, q, 2); got != c.want {
				t.Fatalf("first Allocate = %d, want %d", got, c.want)
			}
			if v, rev, _ := s.Get(ctx, LegacyShardKeySeq); rev != 0 {
				t.Fatalf("legacy counter still there: %q", v)
			}
			if v, _, _ := s.Get(ctx, LogKeySeq); string(v) != strconv.FormatUint(c.stored, 10) {
				t.Fatalf("%s = %q, want %d", LogKeySeq, v, c.stored)
			}
			if got := allocate(t, q, 1); got != c.stored {
				t.Fatalf("second Allocate = %d, want %d", got, c.stored)
			}
		})
	}
}

// TestSequenceNoReuseUnderConcurrency: allocations racing from many
// goroutines and several Sequence values (as several services sharing the
// log would) never overlap.
func TestSequenceNoReuseUnderConcurrency(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	if ok, _, err := s.Commit(context.Background(), nil, map[string][]byte{LegacyShardKeySeq: []byte("1000")}, nil); !ok || err != nil {
		t.Fatal(ok, err)
	}
	var (
		mu   sync.Mutex
		seen = map[uint64]bool{}
		wg   sync.WaitGroup
	)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := LogKeys(s) // one per goroutine: the store is what they share
			for i := range 25 {
				n := 1 + (g+i)%4
				first, err := q.Allocate(context.Background(), n)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for k := first; k < first+uint64(n); k++ {
					if k < 1000 || seen[k] {
						t.Errorf("key %d handed out twice or below the legacy counter", k)
					}
					seen[k] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestSequenceCorrupt(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	defer s.Close()
	if ok, _, err := s.Commit(ctx, nil, map[string][]byte{"seq": []byte("x1")}, nil); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, err := NewSequence(s, "seq").Allocate(ctx, 1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Allocate over a corrupt counter: %v", err)
	}
}
