package datastream

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rheos/rheos/internal/metastore"
)

// watchedMeta counts commits and can fail the next one.
type watchedMeta struct {
	MetaStore
	commits  atomic.Int64
	failNext atomic.Bool
}

var errCrash = errors.New("power lost during commit")

func (w *watchedMeta) Commit(ctx context.Context, cmp map[string]uint64, puts map[string][]byte, dels []string) (bool, uint64, error) {
	if w.failNext.CompareAndSwap(true, false) {
		return false, 0, errCrash
	}
	w.commits.Add(1)
	return w.MetaStore.Commit(ctx, cmp, puts, dels)
}

// dump returns every key of the store with its value.
func dump(t *testing.T, meta MetaStore) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := meta.Scan(context.Background(), "", func(k string, v []byte, _ uint64) error {
		out[k] = string(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// toOldLayout rewrites a store as an older Rheos left it: the service's keys
// at the top level and the log key counter under counters/shard-key.
func toOldLayout(t *testing.T, meta *metastore.Store) {
	t.Helper()
	ctx := context.Background()
	puts := map[string][]byte{}
	var dels []string
	for k, v := range dump(t, meta) {
		switch {
		case strings.HasPrefix(k, servicePrefix):
			puts[strings.TrimPrefix(k, servicePrefix)] = []byte(v)
		case k == metastore.LogKeySeq:
			puts[metastore.LegacyShardKeySeq] = []byte(v)
		default:
			continue
		}
		dels = append(dels, k)
	}
	if ok, _, err := meta.Commit(ctx, nil, puts, dels); !ok || err != nil {
		t.Fatal(ok, err)
	}
}

// TestMigrateOldLayout: a store in the layout before namespacing opens with
// every stream, policy, account setting and the iterator secret moved under
// kinesis/ in one commit, old keys gone; a second open commits nothing; a
// crash during the migration leaves the old layout, which the next open
// migrates.
func TestMigrateOldLayout(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	store := openTestMeta(t)
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	other := Scope{Account: "111111111111", Region: "eu-west-1"}
	s, err := New(ctx, Config{Now: clk.Now}, store, newMemLog())
	if err != nil {
		t.Fatal(err)
	}
	createActive(t, s, clk, sc, "a", 2)
	createActive(t, s, clk, other, "b", 1)
	info, _ := s.Describe(sc, "a")
	if err := s.PutResourcePolicy(ctx, info.ARN, `{"Version":"2012-10-17"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateAccountSettings(ctx, other, "ENABLED"); err != nil {
		t.Fatal(err)
	}
	iter, err := s.GetShardIterator(ctx, sc, IteratorInput{Stream: "a", ShardID: "shardId-000000000001", Type: "TRIM_HORIZON"})
	if err != nil {
		t.Fatal(err)
	}
	newLayout := dump(t, store)
	toOldLayout(t, store)
	old := dump(t, store)
	for _, k := range []string{"streams/000000000000/us-east-1/a", "streams/111111111111/eu-west-1/b", "policies/" + info.ARN, "accounts/111111111111/eu-west-1", "config/iterator-key", "counters/shard-key"} {
		if _, ok := old[k]; !ok {
			t.Fatalf("old layout lacks %s: %v", k, old)
		}
	}

	// A crash during the migration commit: nothing moved.
	w := &watchedMeta{MetaStore: store}
	w.failNext.Store(true)
	if _, err := New(ctx, Config{Now: clk.Now}, w, newMemLog()); !errors.Is(err, errCrash) {
		t.Fatalf("New with a failing migration commit: %v", err)
	}
	if got := dump(t, store); !equalMaps(got, old) {
		t.Fatalf("a failed migration changed the store:\n%v\nwant\n%v", got, old)
	}

	// The next open migrates in one commit.
	s2, err := New(ctx, Config{Now: clk.Now}, w, newMemLog())
	if err != nil {
		t.Fatal(err)
	}
	if n := w.commits.Load(); n != 1 {
		t.Fatalf("migration took %d commits, want 1", n)
	}
	got := dump(t, store)
	for k := range got {
		if !strings.HasPrefix(k, servicePrefix) && k != metastore.LegacyShardKeySeq {
			t.Fatalf("key %s outside %s after the migration", k, servicePrefix)
		}
	}
	for k, v := range newLayout {
		if strings.HasPrefix(k, servicePrefix) && got[k] != v {
			t.Fatalf("%s = %q after the migration, want %q", k, got[k], v)
		}
	}
	for _, c := range []struct {
		sc   Scope
		name string
	}{{sc, "a"}, {other, "b"}} {
		if _, err := s2.Describe(c.sc, c.name); err != nil {
			t.Fatalf("stream %s after the migration: %v", c.name, err)
		}
	}
	if p, err := s2.GetResourcePolicy(ctx, info.ARN); err != nil || p != `{"Version":"2012-10-17"}` {
		t.Fatalf("policy after the migration: %q, %v", p, err)
	}
	if a, err := s2.DescribeAccountSettings(ctx, other); err != nil || a.Status != "ENABLED" {
		t.Fatalf("account settings after the migration: %+v, %v", a, err)
	}
	// The iterator secret moved: an iterator minted before still opens.
	if _, err := s2.GetRecords(ctx, iter, 10); err != nil {
		t.Fatalf("iterator from before the migration: %v", err)
	}

	// A second open is a no-op.
	before := w.commits.Load()
	if _, err := New(ctx, Config{Now: clk.Now}, w, newMemLog()); err != nil {
		t.Fatal(err)
	}
	if n := w.commits.Load() - before; n != 0 {
		t.Fatalf("second open made %d commits", n)
	}
	if !equalMaps(dump(t, store), got) {
		t.Fatal("second open changed the store")
	}
}

// TestMigrateRefusesKeyUnderBothNames: a key present under its old and new
// name is not overwritten; the open fails naming it.
func TestMigrateRefusesKeyUnderBothNames(t *testing.T) {
	ctx := context.Background()
	store := openTestMeta(t)
	puts := map[string][]byte{
		"streams/000000000000/us-east-1/x":         []byte(`{"name":"old"}`),
		"kinesis/streams/000000000000/us-east-1/x": []byte(`{"name":"new"}`),
	}
	if ok, _, err := store.Commit(ctx, nil, puts, nil); !ok || err != nil {
		t.Fatal(ok, err)
	}
	_, err := New(ctx, Config{}, store, newMemLog())
	if err == nil || !strings.Contains(err.Error(), "kinesis/streams/000000000000/us-east-1/x") {
		t.Fatalf("New with a key under both names: %v", err)
	}
	if v, _, _ := store.Get(ctx, "kinesis/streams/000000000000/us-east-1/x"); string(v) != `{"name":"new"}` {
		t.Fatalf("new key overwritten: %s", v)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
