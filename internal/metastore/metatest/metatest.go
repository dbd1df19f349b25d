// Package metatest is the conformance suite of the metastore.KV contract:
// every backend (the embedded bbolt store, etcdstore) runs the same tests
// through Run. It owns no store; it imports only metastore and the standard
// library, and is meant for tests only.
package metatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/metastore"
)

// Limited is implemented by a KV that bounds one Commit; the suite then
// checks the bounds are enforced exactly.
type Limited interface {
	Limits() metastore.Limits
}

// Compactor is implemented by a KV whose watch history can be compacted on
// demand; the suite then checks a watcher behind the compaction point gets
// metastore.ErrCompacted.
type Compactor interface {
	Compact(ctx context.Context, rev uint64) error
}

// Run runs the suite; newKV returns an empty store for one subtest (its
// cleanup is the caller's, through t.Cleanup). Subtests run sequentially.
func Run(t *testing.T, newKV func(t *testing.T) metastore.KV) {
	tests := []struct {
		name string
		fn   func(t *testing.T, kv metastore.KV)
	}{
		{"GetPutDelete", testGetPutDelete},
		{"CompareAndSwap", testCompareAndSwap},
		{"MultiKeyAtomic", testMultiKeyAtomic},
		{"ScanOrderAndPrefix", testScan},
		{"WatchOrder", testWatchOrder},
		{"WatchFromRevision", testWatchFromRevision},
		{"WatchCompacted", testWatchCompacted},
		{"WatchStops", testWatchStops},
		{"WatchConcurrentCommits", testWatchConcurrent},
		{"ConcurrentCAS", testConcurrentCAS},
		{"SequenceNoDuplicates", testSequence},
		{"Limits", testLimits},
		{"Fencing", testFencing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newKV(t)) })
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func commit(t *testing.T, kv metastore.KV, compare map[string]uint64, puts map[string][]byte, deletes ...string) uint64 {
	t.Helper()
	ok, rev, err := kv.Commit(ctxFor(t), compare, puts, deletes)
	if err != nil || !ok || rev == 0 {
		t.Fatalf("Commit(%v, %d puts, %v) = %v, %d, %v", compare, len(puts), deletes, ok, rev, err)
	}
	return rev
}

func get(t *testing.T, kv metastore.KV, key string) (string, uint64) {
	t.Helper()
	v, rev, err := kv.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	if rev == 0 && v != nil {
		t.Fatalf("Get(%s): absent with value %q", key, v)
	}
	return string(v), rev
}

func testGetPutDelete(t *testing.T, kv metastore.KV) {
	if v, rev := get(t, kv, "a"); v != "" || rev != 0 {
		t.Fatalf("empty store: a = %q@%d", v, rev)
	}
	r1 := commit(t, kv, nil, map[string][]byte{"a": []byte("1"), "b": {}})
	if v, rev := get(t, kv, "a"); v != "1" || rev != r1 {
		t.Fatalf("a = %q@%d, want 1@%d", v, rev, r1)
	}
	if v, rev := get(t, kv, "b"); v != "" || rev != r1 {
		t.Fatalf("empty value b = %q@%d, want \"\"@%d", v, rev, r1)
	}
	r2 := commit(t, kv, nil, map[string][]byte{"a": []byte("2")})
	if r2 <= r1 {
		t.Fatalf("revisions %d then %d", r1, r2)
	}
	if v, rev := get(t, kv, "a"); v != "2" || rev != r2 {
		t.Fatalf("a = %q@%d, want 2@%d", v, rev, r2)
	}
	if now, err := kv.Rev(ctxFor(t)); err != nil || now < r2 {
		t.Fatalf("Rev = %d, %v after a commit at %d", now, err, r2)
	}
	commit(t, kv, nil, nil, "a", "never-there")
	if v, rev := get(t, kv, "a"); v != "" || rev != 0 {
		t.Fatalf("deleted a = %q@%d", v, rev)
	}
	// A key put and deleted in one commit is deleted.
	commit(t, kv, nil, map[string][]byte{"b": []byte("x")}, "b")
	if _, rev := get(t, kv, "b"); rev != 0 {
		t.Fatalf("b put and deleted is at %d", rev)
	}
}

func testCompareAndSwap(t *testing.T, kv metastore.KV) {
	ctx := ctxFor(t)
	r1 := commit(t, kv, map[string]uint64{"k": 0}, map[string][]byte{"k": []byte("1")})
	for _, c := range []struct {
		name string
		rev  uint64
	}{{"create again", 0}, {"stale", r1 - 1}, {"future", r1 + 1000}} {
		ok, _, err := kv.Commit(ctx, map[string]uint64{"k": c.rev}, map[string][]byte{"k": []byte("bad"), "other": []byte("bad")}, nil)
		if ok || err != nil {
			t.Fatalf("%s: Commit = %v, %v; want a failed comparison", c.name, ok, err)
		}
	}
	if v, rev := get(t, kv, "k"); v != "1" || rev != r1 {
		t.Fatalf("after failed CAS: k = %q@%d", v, rev)
	}
	if _, rev := get(t, kv, "other"); rev != 0 {
		t.Fatal("a failed commit wrote another key")
	}
	r2 := commit(t, kv, map[string]uint64{"k": r1}, map[string][]byte{"k": []byte("2")})
	// Delete under compare.
	if ok, _, err := kv.Commit(ctx, map[string]uint64{"k": r1}, nil, []string{"k"}); ok || err != nil {
		t.Fatalf("delete with a stale revision: %v, %v", ok, err)
	}
	commit(t, kv, map[string]uint64{"k": r2}, nil, "k")
	// Comparing an absent key with 0 succeeds; with non-zero fails.
	commit(t, kv, map[string]uint64{"k": 0, "nope": 0}, map[string][]byte{"z": []byte("1")})
	if ok, _, err := kv.Commit(ctx, map[string]uint64{"nope": r2}, map[string][]byte{"z": []byte("2")}, nil); ok || err != nil {
		t.Fatalf("compare absent key to %d: %v, %v", r2, ok, err)
	}
}

func testMultiKeyAtomic(t *testing.T, kv metastore.KV) {
	ctx := ctxFor(t)
	r1 := commit(t, kv, nil, map[string][]byte{"a": []byte("a1"), "b": []byte("b1"), "c": []byte("c1")})
	// One stale comparison among several fails the whole transaction.
	ok, _, err := kv.Commit(ctx, map[string]uint64{"a": r1, "b": r1, "c": r1 - 1},
		map[string][]byte{"a": []byte("a2"), "d": []byte("d2")}, []string{"b"})
	if ok || err != nil {
		t.Fatalf("commit with one stale comparison: %v, %v", ok, err)
	}
	for k, want := range map[string]string{"a": "a1", "b": "b1", "c": "c1", "d": ""} {
		if v, _ := get(t, kv, k); v != want {
			t.Fatalf("after failed commit %s = %q, want %q", k, v, want)
		}
	}
	r2 := commit(t, kv, map[string]uint64{"a": r1, "b": r1, "c": r1},
		map[string][]byte{"a": []byte("a2"), "d": []byte("d2")}, "b")
	for k, want := range map[string]struct {
		v   string
		rev uint64
	}{"a": {"a2", r2}, "b": {"", 0}, "c": {"c1", r1}, "d": {"d2", r2}} {
		if v, rev := get(t, kv, k); v != want.v || rev != want.rev {
			t.Fatalf("%s = %q@%d, want %q@%d", k, v, rev, want.v, want.rev)
		}
	}
}

func scanKeys(t *testing.T, kv metastore.KV, prefix, from string) string {
	t.Helper()
	var keys []string
	var last string
	err := kv.ScanFrom(ctxFor(t), prefix, from, func(k string, v []byte, rev uint64) error {
		if string(v) != k || rev == 0 {
			t.Errorf("%s = %q@%d", k, v, rev)
		}
		if len(keys) > 0 && k <= last {
			t.Errorf("scan order: %q after %q", k, last)
		}
		last = k
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(keys, " ")
}

func testScan(t *testing.T, kv metastore.KV) {
	puts := map[string][]byte{}
	for _, k := range []string{"a/1", "p/a", "p/b", "p/b/c", "p/c", "p\xff", "q/1", "p/\xff\xfe"} {
		puts[k] = []byte(k)
	}
	commit(t, kv, nil, puts)
	for _, c := range []struct {
		prefix, from string
		want         string
	}{
		{"p/", "", "p/a p/b p/b/c p/c p/\xff\xfe"},
		{"p/", "p/b", "p/b p/b/c p/c p/\xff\xfe"},
		{"p/", "p/b\x00", "p/b/c p/c p/\xff\xfe"},
		{"p/", "p/b\xff", "p/c p/\xff\xfe"},
		{"p/", "q", ""},
		{"p", "", "p/a p/b p/b/c p/c p/\xff\xfe p\xff"},
		{"", "p/c", "p/c p/\xff\xfe p\xff q/1"},
		{"", "", "a/1 p/a p/b p/b/c p/c p/\xff\xfe p\xff q/1"},
		{"zz", "", ""},
	} {
		if got := scanKeys(t, kv, c.prefix, c.from); got != c.want {
			t.Errorf("ScanFrom(%q, %q) = %q, want %q", c.prefix, c.from, got, c.want)
		}
	}
	var n int
	if err := kv.Scan(ctxFor(t), "p/", func(string, []byte, uint64) error { n++; return nil }); err != nil || n != 5 {
		t.Fatalf("Scan(p/) = %d keys, %v", n, err)
	}
	stop := errors.New("stop")
	n = 0
	if err := kv.Scan(ctxFor(t), "p/", func(string, []byte, uint64) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("stop: %v after %d", err, n)
	}
	// Many keys: a backend that pages its scans must not lose or repeat any.
	many := map[string][]byte{}
	for i := range 1200 {
		k := fmt.Sprintf("m/%05d", i)
		many[k] = []byte(k)
		if len(many) == 100 {
			commit(t, kv, nil, many)
			many = map[string][]byte{}
		}
	}
	if got := scanKeys(t, kv, "m/", ""); strings.Count(got, " ")+1 != 1200 {
		t.Fatalf("scan of 1200 keys returned %d", strings.Count(got, " ")+1)
	}
	if got := scanKeys(t, kv, "m/", "m/01150"); strings.Count(got, " ")+1 != 50 {
		t.Fatalf("scan from m/01150 returned %d keys", strings.Count(got, " ")+1)
	}
}

// watcher runs Watch in a goroutine and hands out what it delivers.
type watcher struct {
	events chan metastore.Event
	done   chan error
	cancel context.CancelFunc
}

func watch(t *testing.T, kv metastore.KV, prefix string, from uint64) *watcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{events: make(chan metastore.Event, 1000), done: make(chan error, 1), cancel: cancel}
	go func() {
		w.done <- kv.Watch(ctx, prefix, from, func(ev metastore.Event) error {
			w.events <- ev
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-w.done })
	return w
}

func (w *watcher) next(t *testing.T) metastore.Event {
	t.Helper()
	select {
	case ev := <-w.events:
		return ev
	case err := <-w.done:
		w.done <- err
		t.Fatalf("watch ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
	}
	return metastore.Event{}
}

func describe(ev metastore.Event) string {
	var parts []string
	for _, c := range ev.Changes {
		if c.Deleted {
			if c.Value != nil {
				parts = append(parts, "BAD-deleted-with-value")
			}
			parts = append(parts, "-"+c.Key)
		} else {
			parts = append(parts, c.Key+"="+string(c.Value))
		}
	}
	return strings.Join(parts, " ")
}

func expect(t *testing.T, w *watcher, rev uint64, want string) {
	t.Helper()
	ev := w.next(t)
	if ev.Rev != rev || describe(ev) != want {
		t.Fatalf("event @%d %q, want @%d %q", ev.Rev, describe(ev), rev, want)
	}
}

func testWatchOrder(t *testing.T, kv metastore.KV) {
	now, err := kv.Rev(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, kv, "w/", now+1)
	all := watch(t, kv, "", now+1)
	r1 := commit(t, kv, nil, map[string][]byte{"w/b": []byte("1"), "w/a": []byte("1"), "x/a": []byte("1")})
	r2 := commit(t, kv, nil, map[string][]byte{"x/b": []byte("2")}) // not under w/
	r3 := commit(t, kv, nil, map[string][]byte{"w/c": []byte("3")}, "w/a", "w/none")
	r4 := commit(t, kv, nil, map[string][]byte{"w/b": []byte("4"), "w/a": []byte("4")}, "w/c")
	expect(t, w, r1, "w/a=1 w/b=1")
	expect(t, w, r3, "-w/a w/c=3")
	expect(t, w, r4, "w/a=4 w/b=4 -w/c")
	expect(t, all, r1, "w/a=1 w/b=1 x/a=1")
	expect(t, all, r2, "x/b=2")
	expect(t, all, r3, "-w/a w/c=3")
	expect(t, all, r4, "w/a=4 w/b=4 -w/c")
	// A failed commit delivers nothing; the next one arrives next.
	if ok, _, err := kv.Commit(ctxFor(t), map[string]uint64{"w/a": 1}, map[string][]byte{"w/z": nil}, nil); ok || err != nil {
		t.Fatal(ok, err)
	}
	r5 := commit(t, kv, nil, map[string][]byte{"w/e": []byte("5")})
	expect(t, w, r5, "w/e=5")
	// fromRev 0 starts after the current revision.
	w0 := watch(t, kv, "w/", 0)
	time.Sleep(50 * time.Millisecond) // let it start; anything before is not expected
	r6 := commit(t, kv, nil, map[string][]byte{"w/f": []byte("6")})
	ev := w0.next(t)
	if ev.Rev == r6 && describe(ev) != "w/f=6" || ev.Rev != r6 && ev.Rev > r5 {
		t.Fatalf("watch from 0: @%d %q", ev.Rev, describe(ev))
	}
}

func testWatchFromRevision(t *testing.T, kv metastore.KV) {
	var revs []uint64
	for i := range 5 {
		revs = append(revs, commit(t, kv, nil, map[string][]byte{"k": []byte(strconv.Itoa(i))}))
	}
	w := watch(t, kv, "k", revs[2])
	expect(t, w, revs[2], "k=2")
	expect(t, w, revs[3], "k=3")
	expect(t, w, revs[4], "k=4")
	r := commit(t, kv, nil, map[string][]byte{"k": []byte("5")})
	expect(t, w, r, "k=5")
	// A future revision waits for it.
	now, _ := kv.Rev(ctxFor(t))
	wf := watch(t, kv, "k", now+2)
	commit(t, kv, nil, map[string][]byte{"k": []byte("skipped")}) // at now+1 on a store nobody else writes
	var last uint64
	for range 3 {
		last = commit(t, kv, nil, map[string][]byte{"k": []byte("later")})
	}
	for {
		ev := wf.next(t)
		if ev.Rev < now+2 || describe(ev) == "k=skipped" {
			t.Fatalf("watch from %d delivered @%d %q", now+2, ev.Rev, describe(ev))
		}
		if ev.Rev == last {
			break
		}
	}
}

func testWatchCompacted(t *testing.T, kv metastore.KV) {
	c, ok := kv.(Compactor)
	if !ok {
		t.Skip("the store cannot be compacted on demand")
	}
	r1 := commit(t, kv, nil, map[string][]byte{"c": []byte("1")})
	r2 := commit(t, kv, nil, map[string][]byte{"c": []byte("2")})
	r3 := commit(t, kv, nil, map[string][]byte{"c": []byte("3")})
	if err := c.Compact(ctxFor(t), r3); err != nil {
		t.Fatal(err)
	}
	err := kv.Watch(ctxFor(t), "c", r1, func(ev metastore.Event) error {
		return fmt.Errorf("delivered @%d after compaction", ev.Rev)
	})
	var ce *metastore.CompactedError
	if !errors.Is(err, metastore.ErrCompacted) || !errors.As(err, &ce) || ce.Compacted < r2 {
		t.Fatalf("watch from compacted %d: %v", r1, err)
	}
	// From the compaction point on, the watch works.
	w := watch(t, kv, "c", r3)
	expect(t, w, r3, "c=3")
	// Reads are unaffected.
	if v, rev := get(t, kv, "c"); v != "3" || rev != r3 {
		t.Fatalf("after compaction c = %q@%d", v, rev)
	}
}

func testWatchStops(t *testing.T, kv metastore.KV) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- kv.Watch(ctx, "s", 0, func(metastore.Event) error { return nil }) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled watch returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watch did not stop on cancel")
	}
	now, _ := kv.Rev(ctxFor(t))
	commit(t, kv, nil, map[string][]byte{"s": []byte("1")})
	stop := errors.New("stop")
	if err := kv.Watch(ctxFor(t), "s", now+1, func(metastore.Event) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("watch whose fn failed returned %v", err)
	}
}

// testWatchConcurrentCommits: commits racing from several goroutines reach
// a watcher once each, in increasing revision order, each revision whole.
func testWatchConcurrent(t *testing.T, kv metastore.KV) {
	now, err := kv.Rev(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, kv, "cc/", now+1)
	const writers, each = 4, 15
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		revs = map[uint64]string{}
	)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				v := fmt.Sprintf("%d-%d", g, i)
				ok, rev, err := kv.Commit(ctxFor(t), nil, map[string][]byte{
					fmt.Sprintf("cc/%d/a", g): []byte(v), fmt.Sprintf("cc/%d/b", g): []byte(v),
				}, nil)
				if !ok || err != nil {
					t.Error(ok, err)
					return
				}
				mu.Lock()
				revs[rev] = fmt.Sprintf("cc/%d/a=%s cc/%d/b=%s", g, v, g, v)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var last uint64
	for range writers * each {
		ev := w.next(t)
		if ev.Rev <= last {
			t.Fatalf("revision %d after %d", ev.Rev, last)
		}
		last = ev.Rev
		if want := revs[ev.Rev]; describe(ev) != want {
			t.Fatalf("@%d %q, committed %q", ev.Rev, describe(ev), want)
		}
	}
}

func testConcurrentCAS(t *testing.T, kv metastore.KV) {
	ctx := ctxFor(t)
	const n = 8
	var wg sync.WaitGroup
	wins := make(chan int, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, err := kv.Commit(ctx, map[string]uint64{"once": 0}, map[string][]byte{"once": []byte(strconv.Itoa(g))}, nil)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins <- g
			}
		}()
	}
	wg.Wait()
	close(wins)
	var winners []int
	for g := range wins {
		winners = append(winners, g)
	}
	if len(winners) != 1 {
		t.Fatalf("%d creators won: %v", len(winners), winners)
	}
	if v, _ := get(t, kv, "once"); v != strconv.Itoa(winners[0]) {
		t.Fatalf("once = %q, winner %d", v, winners[0])
	}
	// Read-modify-write increments: none lost.
	const per = 10
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; {
				v, rev, err := kv.Get(ctx, "count")
				if err != nil {
					t.Error(err)
					return
				}
				c, _ := strconv.Atoi(string(v))
				ok, _, err := kv.Commit(ctx, map[string]uint64{"count": rev}, map[string][]byte{"count": []byte(strconv.Itoa(c + 1))}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					i++
				}
			}
		}()
	}
	wg.Wait()
	if v, _ := get(t, kv, "count"); v != strconv.Itoa(n*per) {
		t.Fatalf("count = %s after %d increments", v, n*per)
	}
}

// plainKV hides a store's concrete type, so Sequence takes its generic
// compare-and-swap path on every backend.
type plainKV struct{ metastore.KV }

func testSequence(t *testing.T, kv metastore.KV) {
	ctx := ctxFor(t)
	commit(t, kv, nil, map[string][]byte{metastore.LegacyShardKeySeq: []byte("1000")})
	var (
		mu   sync.Mutex
		seen = map[uint64]bool{}
		wg   sync.WaitGroup
	)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var q *metastore.Sequence
			if g%2 == 0 {
				q = metastore.LogKeys(kv)
			} else {
				q = metastore.LogKeys(plainKV{kv})
			}
			for i := range 15 {
				n := 1 + (g+i)%4
				first, err := q.Allocate(ctx, n)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for k := first; k < first+uint64(n); k++ {
					if k < 1000 || seen[k] {
						t.Errorf("value %d handed out twice or below the legacy counter", k)
					}
					seen[k] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if _, rev := get(t, kv, metastore.LegacyShardKeySeq); rev != 0 {
		t.Fatal("legacy counter not migrated")
	}
	commit(t, kv, nil, map[string][]byte{"bad": []byte("x1")})
	if _, err := metastore.NewSequence(plainKV{kv}, "bad").Allocate(ctx, 1); !errors.Is(err, metastore.ErrCorrupt) {
		t.Fatalf("Allocate over a corrupt counter: %v", err)
	}
}

func testLimits(t *testing.T, kv metastore.KV) {
	l, ok := kv.(Limited)
	if !ok || l.Limits() == (metastore.Limits{}) {
		t.Skip("the store declares no limits")
	}
	lim := l.Limits()
	ctx := ctxFor(t)
	refused := func(what string, want error, compare map[string]uint64, puts map[string][]byte, deletes []string) {
		t.Helper()
		ok, _, err := kv.Commit(ctx, compare, puts, deletes)
		if ok || !errors.Is(err, want) {
			t.Fatalf("%s: Commit = %v, %v; want %v", what, ok, err, want)
		}
		if n := countAll(t, kv); n != 0 {
			t.Fatalf("%s: a refused commit left %d keys", what, n)
		}
	}
	if lim.MaxOps > 0 {
		puts := map[string][]byte{}
		cmp := map[string]uint64{}
		for i := range lim.MaxOps + 1 {
			puts[fmt.Sprintf("op/%04d", i)] = []byte("v")
			cmp[fmt.Sprintf("op/%04d", i)] = 0
		}
		refused("MaxOps+1 puts", metastore.ErrTooManyOps, nil, puts, nil)
		refused("MaxOps+1 comparisons", metastore.ErrTooManyOps, cmp, map[string][]byte{"x": nil}, nil)
		refused("puts+deletes over MaxOps", metastore.ErrTooManyOps, nil, map[string][]byte{"x": nil}, keysOf(puts)[1:])
		delete(puts, "op/0000")
		delete(cmp, "op/0000")
		commit(t, kv, cmp, puts) // exactly MaxOps comparisons and puts
		commit(t, kv, nil, nil, keysOf(puts)...)
	}
	if lim.MaxTxnBytes > 0 {
		big := bytes.Repeat([]byte("v"), lim.MaxTxnBytes)
		refused("a value over MaxTxnBytes", metastore.ErrTooLarge, nil, map[string][]byte{"big": big}, nil)
		refused("values adding up over MaxTxnBytes", metastore.ErrTooLarge, nil,
			map[string][]byte{"h1": big[:lim.MaxTxnBytes/2], "h2": big[:lim.MaxTxnBytes/2]}, nil)
		r := commit(t, kv, nil, map[string][]byte{"big": big[:lim.MaxTxnBytes-3-64]}) // key and some slack for a backend's prefix
		if v, rev := get(t, kv, "big"); len(v) != lim.MaxTxnBytes-3-64 || rev != r {
			t.Fatalf("big value read back as %d bytes", len(v))
		}
	}
}

func keysOf(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func countAll(t *testing.T, kv metastore.KV) int {
	n := 0
	if err := kv.Scan(ctxFor(t), "", func(string, []byte, uint64) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func testFencing(t *testing.T, kv metastore.KV) {
	ctx := ctxFor(t)
	a, err := metastore.Acquire(ctx, kv, "owners/shard-1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Epoch != 1 || a.Rev == 0 {
		t.Fatalf("first fence %+v", a)
	}
	// The owner commits under its fence; an ordinary comparison failure
	// is not a fencing failure.
	ok, _, err := metastore.CommitFenced(ctx, kv, a, map[string]uint64{"data": 0}, map[string][]byte{"data": []byte("a1")}, nil)
	if !ok || err != nil {
		t.Fatalf("owner's commit: %v, %v", ok, err)
	}
	ok, _, err = metastore.CommitFenced(ctx, kv, a, map[string]uint64{"data": 0}, map[string][]byte{"data": []byte("a2")}, nil)
	if ok || err != nil {
		t.Fatalf("owner's commit with a stale comparison: %v, %v; want ok=false, no error", ok, err)
	}
	// A new owner takes over: the old owner's commits are refused.
	b, err := metastore.Acquire(ctx, kv, "owners/shard-1")
	if err != nil {
		t.Fatal(err)
	}
	if b.Epoch != 2 || b.Rev <= a.Rev {
		t.Fatalf("second fence %+v after %+v", b, a)
	}
	_, drev := get(t, kv, "data")
	ok, _, err = metastore.CommitFenced(ctx, kv, a, map[string]uint64{"data": drev}, map[string][]byte{"data": []byte("stale")}, nil)
	if ok || !errors.Is(err, metastore.ErrFenced) {
		t.Fatalf("stale owner's commit: %v, %v; want ErrFenced", ok, err)
	}
	ok, _, err = metastore.CommitFenced(ctx, kv, a, nil, nil, []string{"data"})
	if ok || !errors.Is(err, metastore.ErrFenced) {
		t.Fatalf("stale owner's delete: %v, %v; want ErrFenced", ok, err)
	}
	if v, _ := get(t, kv, "data"); v != "a1" {
		t.Fatalf("data = %q after a stale owner's commits", v)
	}
	if ok, _, err = metastore.CommitFenced(ctx, kv, b, map[string]uint64{"data": drev}, map[string][]byte{"data": []byte("b1")}, nil); !ok || err != nil {
		t.Fatalf("new owner's commit: %v, %v", ok, err)
	}
	// A deleted fence key (an expired lease's) fences everyone out.
	if _, rev := get(t, kv, "owners/shard-1"); rev != b.Rev {
		t.Fatalf("fence key at %d, fence %d", rev, b.Rev)
	}
	commit(t, kv, nil, nil, "owners/shard-1")
	if ok, _, err = metastore.CommitFenced(ctx, kv, b, nil, map[string][]byte{"data": []byte("b2")}, nil); ok || !errors.Is(err, metastore.ErrFenced) {
		t.Fatalf("commit under a deleted fence: %v, %v", ok, err)
	}
	if _, _, err := metastore.CommitFenced(ctx, kv, metastore.Fence{}, nil, nil, nil); err == nil {
		t.Fatal("commit with an empty fence accepted")
	}
}
