package metastore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rheos/rheos/internal/metastore"
	"github.com/rheos/rheos/internal/metastore/metatest"
)

func openKV(t *testing.T, opts metastore.Options) *metastore.Store {
	t.Helper()
	s, err := metastore.OpenWith(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the KV suite on the embedded store, with etcd's
// limits switched on so the limit tests run too.
func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) metastore.KV {
		return openKV(t, metastore.Options{Limits: metastore.EtcdLimits})
	})
}

// TestWatchHistoryBounded: a watcher that falls more than WatchHistory
// revisions behind gets ErrCompacted instead of an unbounded buffer.
func TestWatchHistoryBounded(t *testing.T) {
	ctx := context.Background()
	s := openKV(t, metastore.Options{WatchHistory: 4})
	var revs []uint64
	for range 6 {
		ok, rev, err := s.Commit(ctx, nil, map[string][]byte{"k": []byte("v")}, nil)
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
		revs = append(revs, rev)
	}
	var got []uint64
	errStop := errors.New("stop")
	err := s.Watch(ctx, "", revs[2], func(ev metastore.Event) error {
		got = append(got, ev.Rev)
		if len(got) == 4 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) || len(got) != 4 || got[0] != revs[2] {
		t.Fatalf("watch within the window: %v %v", got, err)
	}
	err = s.Watch(ctx, "", revs[1], func(metastore.Event) error { return nil })
	var ce *metastore.CompactedError
	if !errors.As(err, &ce) || ce.Want != revs[1] || ce.Compacted != revs[1] {
		t.Fatalf("watch behind the window: %v", err)
	}
	// Byte bound: one big revision pushes the older ones out.
	s = openKV(t, metastore.Options{WatchHistoryBytes: 1000})
	_, r1, _ := s.Commit(ctx, nil, map[string][]byte{"a": make([]byte, 600)}, nil)
	s.Commit(ctx, nil, map[string][]byte{"b": make([]byte, 600)}, nil)
	if err := s.Watch(ctx, "", r1, func(metastore.Event) error { return nil }); !errors.Is(err, metastore.ErrCompacted) {
		t.Fatalf("watch past the byte bound: %v", err)
	}
}

// TestWatchNotAcrossReopen: the history is in memory; after a reopen only
// revisions committed since can be watched, older ones are compacted.
func TestWatchNotAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := metastore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, r1, _ := s.Commit(ctx, nil, map[string][]byte{"k": []byte("1")}, nil)
	s.Close()
	s, err = metastore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if now, _ := s.Rev(ctx); now != r1 {
		t.Fatalf("Rev after reopen = %d, want %d", now, r1)
	}
	if err := s.Watch(ctx, "", r1, func(metastore.Event) error { return nil }); !errors.Is(err, metastore.ErrCompacted) {
		t.Fatalf("watch from before the reopen: %v", err)
	}
}

// TestWatchClose: Close ends watchers with ErrClosed.
func TestWatchClose(t *testing.T) {
	s, err := metastore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Watch(context.Background(), "", 0, func(metastore.Event) error { return nil }) }()
	s.Close()
	if err := <-done; !errors.Is(err, metastore.ErrClosed) {
		t.Fatalf("watch after Close: %v", err)
	}
}
