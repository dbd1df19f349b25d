// Package blobtest is the one conformance suite of blob.Store: every
// implementation (local directory, S3 against the built-in server and
// against versitygw, later others) runs the same tests through Run. It
// imports testing and must only be imported by tests.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rheos/rheos/internal/blob"
)

// Run runs the suite. newStore returns an empty store for one subtest;
// stores of different subtests must not see each other's blobs (a fresh
// directory, or a fresh key prefix in one bucket). It releases what it
// made through t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"PutGet", testPutGet},
		{"Empty", testEmpty},
		{"Ranges", testRanges},
		{"Stat", testStat},
		{"ListPages", testListPages},
		{"ListPrefixes", testListPrefixes},
		{"Delete", testDelete},
		{"PutIfAbsent", testPutIfAbsent},
		{"PutRace", testPutRace},
		{"DeleteRace", testDeleteRace},
		{"ChecksumRefused", testChecksumRefused},
		{"Large", testLarge},
		{"OddKeys", testOddKeys},
		{"InvalidKeys", testInvalidKeys},
		{"Cancelled", testCancelled},
		{"CancelledMidPut", testCancelledMidPut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Put stores b under key through PutIfAbsent and fails the test on error.
func Put(t testing.TB, s blob.Store, key string, b []byte) {
	t.Helper()
	if err := s.PutIfAbsent(context.Background(), key, bytes.NewReader(b), int64(len(b)), sum(b)); err != nil {
		t.Fatalf("PutIfAbsent %q: %v", key, err)
	}
}

// Read returns Get(key, off, n) read whole, failing the test on error.
func Read(t testing.TB, s blob.Store, key string, off, n int64) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), key, off, n)
	if err != nil {
		t.Fatalf("Get %q [%d,+%d): %v", key, off, n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get %q: read: %v", key, err)
	}
	return b
}

// ListAll pages through List with the given page size.
func ListAll(t testing.TB, s blob.Store, prefix string, limit int) []blob.Info {
	t.Helper()
	var all []blob.Info
	after := ""
	for page := 0; ; page++ {
		infos, more, err := s.List(context.Background(), prefix, after, limit)
		if err != nil {
			t.Fatalf("List %q after %q: %v", prefix, after, err)
		}
		if limit > 0 && len(infos) > limit {
			t.Fatalf("List %q: %d blobs, limit %d", prefix, len(infos), limit)
		}
		all = append(all, infos...)
		if !more {
			return all
		}
		if len(infos) == 0 || page > 10000 {
			t.Fatalf("List %q after %q: more with an empty page", prefix, after)
		}
		after = infos[len(infos)-1].Key
	}
}

func keysOf(infos []blob.Info) []string {
	var ks []string
	for _, i := range infos {
		ks = append(ks, i.Key)
	}
	return ks
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func testPutGet(t *testing.T, s blob.Store) {
	b := randBytes(1, 100_000)
	Put(t, s, "seg/stream-1/shard-0/00000001.log", b)
	if got := Read(t, s, "seg/stream-1/shard-0/00000001.log", 0, -1); !bytes.Equal(got, b) {
		t.Fatalf("Get: %d bytes differ from the %d put", len(got), len(b))
	}
	_, err := s.Get(context.Background(), "seg/stream-1/shard-0/00000002.log", 0, -1)
	wantErr(t, "Get missing", err, blob.ErrNotFound)
	// A prefix of a key is not a key.
	_, err = s.Get(context.Background(), "seg/stream-1", 0, -1)
	wantErr(t, "Get directory-like prefix", err, blob.ErrNotFound)
}

func testEmpty(t *testing.T, s blob.Store) {
	Put(t, s, "empty", nil)
	if got := Read(t, s, "empty", 0, -1); len(got) != 0 {
		t.Fatalf("Get empty: %d bytes", len(got))
	}
	if got := Read(t, s, "empty", 0, 10); len(got) != 0 {
		t.Fatalf("Get empty [0,10): %d bytes", len(got))
	}
	info, err := s.Stat(context.Background(), "empty")
	if err != nil || info.Size != 0 {
		t.Fatalf("Stat empty = %+v, %v", info, err)
	}
	_, err = s.Get(context.Background(), "empty", 1, -1)
	wantErr(t, "Get empty at 1", err, blob.ErrRange)
}

func testRanges(t *testing.T, s blob.Store) {
	b := randBytes(2, 10_000)
	Put(t, s, "r", b)
	for _, c := range []struct{ off, n int64 }{
		{0, 1}, {0, 0}, {1, 1}, {100, 900}, {9_999, 1}, {9_999, -1}, {5_000, -1},
		{9_000, 5_000},                         // cut short at the end
		{10_000, 0}, {10_000, 5}, {10_000, -1}, // at the end: empty
		{0, 10_000}, {0, 1 << 40},
	} {
		end := min(int64(len(b)), c.off+c.n)
		if c.n < 0 {
			end = int64(len(b))
		}
		want := b[c.off:end]
		if got := Read(t, s, "r", c.off, c.n); !bytes.Equal(got, want) {
			t.Errorf("Get [%d,+%d): %d bytes, want %d", c.off, c.n, len(got), len(want))
		}
	}
	for _, off := range []int64{10_001, 1 << 40} {
		_, err := s.Get(context.Background(), "r", off, 10)
		wantErr(t, fmt.Sprint("Get at ", off), err, blob.ErrRange)
	}
}

func testStat(t *testing.T, s blob.Store) {
	b := randBytes(3, 4321)
	Put(t, s, "a/b/c", b)
	info, err := s.Stat(context.Background(), "a/b/c")
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != "a/b/c" || info.Size != 4321 {
		t.Fatalf("Stat = %+v", info)
	}
	if info.SHA256 != nil && !bytes.Equal(info.SHA256, sum(b)) {
		t.Fatalf("Stat SHA256 = %x, want %x", info.SHA256, sum(b))
	}
	_, err = s.Stat(context.Background(), "a/b")
	wantErr(t, "Stat prefix", err, blob.ErrNotFound)
	_, err = s.Stat(context.Background(), "a/b/c/d")
	wantErr(t, "Stat below", err, blob.ErrNotFound)
}

func testListPages(t *testing.T, s blob.Store) {
	var want []string
	for i := range 23 {
		k := fmt.Sprintf("list/seg-%03d", (i*7)%23) // put out of order
		Put(t, s, k, []byte(k))
		want = append(want, k)
	}
	Put(t, s, "lisp", []byte("x"))
	Put(t, s, "list0", []byte("x"))
	Put(t, s, "other/seg-001", []byte("x"))
	slices.Sort(want)
	for _, limit := range []int{1, 5, 7, 23, 24, 100, 0} {
		infos := ListAll(t, s, "list/", limit)
		if got := keysOf(infos); !slices.Equal(got, want) {
			t.Fatalf("limit %d: %q, want %q", limit, got, want)
		}
		for _, info := range infos {
			if info.Size != int64(len(info.Key)) {
				t.Fatalf("List %q size %d", info.Key, info.Size)
			}
		}
	}
	// One page of 5 says more; the last page does not.
	infos, more, err := s.List(context.Background(), "list/", "", 5)
	if err != nil || len(infos) != 5 || !more {
		t.Fatalf("first page: %d blobs, more %v, %v", len(infos), more, err)
	}
	infos, more, err = s.List(context.Background(), "list/", want[20], 5)
	if err != nil || !slices.Equal(keysOf(infos), want[21:]) || more {
		t.Fatalf("last page: %q, more %v, %v", keysOf(infos), more, err)
	}
	// after need not be a stored key, nor under the prefix.
	infos, _, _ = s.List(context.Background(), "list/", "list/seg-0105", 0)
	if !slices.Equal(keysOf(infos), want[11:]) {
		t.Fatalf("after a non-key: %q", keysOf(infos))
	}
	infos, _, _ = s.List(context.Background(), "list/", "a", 0)
	if !slices.Equal(keysOf(infos), want) {
		t.Fatalf("after before the prefix: %q", keysOf(infos))
	}
	infos, more, _ = s.List(context.Background(), "list/", "list/zzz", 0)
	if len(infos) != 0 || more {
		t.Fatalf("after past the end: %q, %v", keysOf(infos), more)
	}
	infos, more, _ = s.List(context.Background(), "nothing/", "", 0)
	if len(infos) != 0 || more {
		t.Fatalf("empty prefix: %q, %v", keysOf(infos), more)
	}
}

func testListPrefixes(t *testing.T, s blob.Store) {
	keys := []string{"a/b/c", "a/b/d", "a-b", "a.b", "ab", "b/a", "a/bc", "a/c", "ac/x", "aa"}
	for _, k := range keys {
		Put(t, s, k, []byte(k))
	}
	sorted := slices.Sorted(slices.Values(keys))
	for _, prefix := range []string{"", "a", "a/", "a/b", "a/b/", "ab", "b", "c", "a/b/c", "ac"} {
		var want []string
		for _, k := range sorted {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		if got := keysOf(ListAll(t, s, prefix, 2)); !slices.Equal(got, want) {
			t.Errorf("prefix %q: %q, want %q", prefix, got, want)
		}
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	Put(t, s, "d/x/1", []byte("one"))
	Put(t, s, "d/x/2", []byte("two"))
	if err := s.Delete(ctx, "d/x/1"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx, "d/x/1", 0, -1)
	wantErr(t, "Get deleted", err, blob.ErrNotFound)
	_, err = s.Stat(ctx, "d/x/1")
	wantErr(t, "Stat deleted", err, blob.ErrNotFound)
	if err := s.Delete(ctx, "d/x/1"); err != nil {
		t.Fatalf("Delete again: %v", err)
	}
	if err := s.Delete(ctx, "never/was"); err != nil {
		t.Fatalf("Delete missing: %v", err)
	}
	if got := keysOf(ListAll(t, s, "d/", 0)); !slices.Equal(got, []string{"d/x/2"}) {
		t.Fatalf("List after delete: %q", got)
	}
	if err := s.Delete(ctx, "d/x/2"); err != nil {
		t.Fatal(err)
	}
	if got := ListAll(t, s, "", 0); len(got) != 0 {
		t.Fatalf("List after deleting all: %q", keysOf(got))
	}
	// A deleted key can be written again.
	Put(t, s, "d/x/1", []byte("again"))
	if got := Read(t, s, "d/x/1", 0, -1); string(got) != "again" {
		t.Fatalf("Get rewritten: %q", got)
	}
}

func testPutIfAbsent(t *testing.T, s blob.Store) {
	Put(t, s, "k", []byte("first"))
	b := []byte("second, longer")
	err := s.PutIfAbsent(context.Background(), "k", bytes.NewReader(b), int64(len(b)), sum(b))
	wantErr(t, "second put", err, blob.ErrExists)
	// The same bytes again are refused too: put-if-absent, not idempotent.
	err = s.PutIfAbsent(context.Background(), "k", strings.NewReader("first"), 5, sum([]byte("first")))
	wantErr(t, "same put", err, blob.ErrExists)
	if got := Read(t, s, "k", 0, -1); string(got) != "first" {
		t.Fatalf("after refused puts: %q", got)
	}
}

func testPutRace(t *testing.T, s blob.Store) {
	const writers = 8
	for round := range 3 {
		key := fmt.Sprintf("race/%d", round)
		var wg sync.WaitGroup
		errs := make([]error, writers)
		bodies := make([][]byte, writers)
		start := make(chan struct{})
		for i := range writers {
			bodies[i] = randBytes(uint64(round*100+i), 64<<10+i)
			wg.Go(func() {
				<-start
				errs[i] = s.PutIfAbsent(context.Background(), key, bytes.NewReader(bodies[i]), int64(len(bodies[i])), sum(bodies[i]))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("%s: writers %d and %d both won", key, winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, blob.ErrExists):
				t.Fatalf("%s: writer %d: %v", key, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("%s: no writer won", key)
		}
		if got := Read(t, s, key, 0, -1); !bytes.Equal(got, bodies[winner]) {
			t.Fatalf("%s: stored %d bytes, not the winner's %d", key, len(got), len(bodies[winner]))
		}
	}
}

// testDeleteRace: concurrent deletes of the objects under one prefix (a
// log deleting segments while its orphan sweep runs) and puts beside them
// all succeed, and leave exactly the objects put.
func testDeleteRace(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for round := range 3 {
		prefix := fmt.Sprintf("dr/%d/x/", round)
		for i := range 16 {
			Put(t, s, fmt.Sprintf("%s%02d", prefix, i), []byte("v"))
		}
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 16 {
			wg.Go(func() { errs <- s.Delete(ctx, fmt.Sprintf("%s%02d", prefix, i)) })
			wg.Go(func() { errs <- s.Delete(ctx, fmt.Sprintf("%s%02d", prefix, i)) })
		}
		for i := range 8 {
			wg.Go(func() {
				b := []byte("new")
				errs <- s.PutIfAbsent(ctx, fmt.Sprintf("%snew%d", prefix, i), bytes.NewReader(b), int64(len(b)), sum(b))
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		want := []string{}
		for i := range 8 {
			want = append(want, fmt.Sprintf("%snew%d", prefix, i))
		}
		if got := keysOf(ListAll(t, s, prefix, 0)); !slices.Equal(got, want) {
			t.Fatalf("round %d: left %q, want %q", round, got, want)
		}
	}
}

func testChecksumRefused(t *testing.T, s blob.Store) {
	ctx := context.Background()
	b := randBytes(4, 50_000)
	bad := sum(b)
	bad[0] ^= 1
	err := s.PutIfAbsent(ctx, "bad/sum", bytes.NewReader(b), int64(len(b)), bad)
	wantErr(t, "wrong sha256", err, blob.ErrChecksum)
	// A body shorter than its size.
	err = s.PutIfAbsent(ctx, "bad/short", bytes.NewReader(b[:1000]), int64(len(b)), sum(b))
	wantErr(t, "short body", err, blob.ErrChecksum)
	// A body corrupted in flight (the sum is of the original).
	flipped := slices.Clone(b)
	flipped[len(flipped)-1] ^= 0x80
	err = s.PutIfAbsent(ctx, "bad/flip", bytes.NewReader(flipped), int64(len(b)), sum(b))
	wantErr(t, "flipped body", err, blob.ErrChecksum)
	for _, k := range []string{"bad/sum", "bad/short", "bad/flip"} {
		_, err := s.Stat(ctx, k)
		wantErr(t, "Stat "+k, err, blob.ErrNotFound)
	}
	if got := ListAll(t, s, "bad/", 0); len(got) != 0 {
		t.Fatalf("refused puts left %q", keysOf(got))
	}
	// Only size bytes are read: a longer body whose first size bytes match.
	if err := s.PutIfAbsent(ctx, "bad/long", bytes.NewReader(b), 1000, sum(b[:1000])); err != nil {
		t.Fatalf("body longer than size: %v", err)
	}
	if got := Read(t, s, "bad/long", 0, -1); !bytes.Equal(got, b[:1000]) {
		t.Fatalf("body longer than size stored %d bytes", len(got))
	}
	// The refused key is still free.
	Put(t, s, "bad/sum", b)
}

func testLarge(t *testing.T, s blob.Store) {
	const size = 17<<20 + 12345 // over 16 MiB, not a multiple of anything
	b := randBytes(5, size)
	Put(t, s, "large/segment.log", b)
	info, err := s.Stat(context.Background(), "large/segment.log")
	if err != nil || info.Size != size {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	got := Read(t, s, "large/segment.log", 0, -1)
	if !bytes.Equal(sum(got), sum(b)) {
		t.Fatalf("whole read: %d bytes, checksum differs", len(got))
	}
	for _, c := range []struct{ off, n int64 }{{16<<20 - 3, 10}, {size - 100, 1000}, {1 << 20, 8 << 20}} {
		end := min(int64(size), c.off+c.n)
		if got := Read(t, s, "large/segment.log", c.off, c.n); !bytes.Equal(got, b[c.off:end]) {
			t.Fatalf("Get [%d,+%d) differs", c.off, c.n)
		}
	}
}

// OddKeys are valid keys that need escaping somewhere: URL-special and
// filesystem-special characters, non-ASCII, the longest key. None is a
// whole-segment prefix of another (see blob.Store).
var OddKeys = []string{
	"with space", "plus+sign", "percent%25and%", "tilde~", "~", "eq=amp&q?h#",
	`quote"apos'back\slash`, "colon:semi;comma,", "at@dollar$bang!star*(paren)",
	"brackets[]{}<>|^`", "unicode/é/日本語/🙂", ".hidden", "..dots", "a...b", "-dash",
	"UPPER/lower", "upper/LOWER", "dir/file", "dir/other/deeper",
	"x/" + strings.Repeat("y", 200), strings.Repeat("k/", 495) + "kk", // 992 bytes: room for an S3 store's prefix
}

func testOddKeys(t *testing.T, s blob.Store) {
	for _, k := range OddKeys {
		if !blob.ValidKey(k) {
			t.Fatalf("suite key %q is not valid", k)
		}
		Put(t, s, k, []byte("v:"+k))
	}
	for _, k := range OddKeys {
		if got := Read(t, s, k, 0, -1); string(got) != "v:"+k {
			t.Errorf("Get %q = %q", k, got)
		}
		info, err := s.Stat(context.Background(), k)
		if err != nil || info.Key != k || info.Size != int64(len(k)+2) {
			t.Errorf("Stat %q = %+v, %v", k, info, err)
		}
	}
	want := slices.Sorted(slices.Values(OddKeys))
	if got := keysOf(ListAll(t, s, "", 4)); !slices.Equal(got, want) {
		t.Fatalf("List:\n got %q\nwant %q", got, want)
	}
	if got := keysOf(ListAll(t, s, "unicode/é/", 0)); !slices.Equal(got, []string{"unicode/é/日本語/🙂"}) {
		t.Fatalf("List unicode prefix: %q", got)
	}
	for _, k := range OddKeys {
		if err := s.Delete(context.Background(), k); err != nil {
			t.Fatalf("Delete %q: %v", k, err)
		}
	}
	if got := ListAll(t, s, "", 0); len(got) != 0 {
		t.Fatalf("after deleting: %q", keysOf(got))
	}
}

// InvalidKeys break blob.ValidKey; every store refuses them alike.
var InvalidKeys = []string{
	"", "/lead", "trail/", "a//b", "a/./b", "./a", "a/..", "../up", ".", "..",
	"nul\x00", "ctl\x01", "nl\n", "del\x7f", "bad\xff utf8", strings.Repeat("k", blob.MaxKeyLen+1),
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, k := range InvalidKeys {
		if blob.ValidKey(k) {
			t.Fatalf("ValidKey(%q) = true", k)
		}
		err := s.PutIfAbsent(ctx, k, strings.NewReader("x"), 1, sum([]byte("x")))
		wantErr(t, fmt.Sprintf("PutIfAbsent %q", k), err, blob.ErrInvalidKey)
		_, err = s.Get(ctx, k, 0, -1)
		wantErr(t, fmt.Sprintf("Get %q", k), err, blob.ErrInvalidKey)
		_, err = s.Stat(ctx, k)
		wantErr(t, fmt.Sprintf("Stat %q", k), err, blob.ErrInvalidKey)
		err = s.Delete(ctx, k)
		wantErr(t, fmt.Sprintf("Delete %q", k), err, blob.ErrInvalidKey)
	}
	if got := ListAll(t, s, "", 0); len(got) != 0 {
		t.Fatalf("refused keys left %q", keysOf(got))
	}
}

func testCancelled(t *testing.T, s blob.Store) {
	Put(t, s, "c/1", []byte("one"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.PutIfAbsent(ctx, "c/2", strings.NewReader("two"), 3, sum([]byte("two")))
	wantErr(t, "PutIfAbsent", err, context.Canceled)
	_, err = s.Get(ctx, "c/1", 0, -1)
	wantErr(t, "Get", err, context.Canceled)
	_, err = s.Stat(ctx, "c/1")
	wantErr(t, "Stat", err, context.Canceled)
	_, _, err = s.List(ctx, "c/", "", 0)
	wantErr(t, "List", err, context.Canceled)
	err = s.Delete(ctx, "c/1")
	wantErr(t, "Delete", err, context.Canceled)
	if got := keysOf(ListAll(t, s, "c/", 0)); !slices.Equal(got, []string{"c/1"}) {
		t.Fatalf("after cancelled calls: %q", got)
	}
	// Cancelling while reading a Get's body stops the read.
	b := randBytes(6, 4<<20)
	Put(t, s, "c/big", b)
	ctx, cancel = context.WithCancel(context.Background())
	rc, err := s.Get(ctx, "c/big", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if n, err := io.Copy(io.Discard, rc); err == nil {
		t.Fatalf("read %d more bytes after cancel, no error", n)
	}
}

// cancelAfter cancels its context once n bytes have been read, then
// blocks reads until the context is done.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
	ctx    context.Context
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
		<-c.ctx.Done()
		return 0, c.ctx.Err()
	}
	if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

func testCancelledMidPut(t *testing.T, s blob.Store) {
	b := randBytes(7, 2<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body := &cancelAfter{r: bytes.NewReader(b), n: 1 << 20, cancel: cancel, ctx: ctx}
	if err := s.PutIfAbsent(ctx, "mid/put", body, int64(len(b)), sum(b)); err == nil {
		t.Fatal("PutIfAbsent cancelled midway succeeded")
	}
	_, err := s.Stat(context.Background(), "mid/put")
	wantErr(t, "Stat after cancelled put", err, blob.ErrNotFound)
	Put(t, s, "mid/put", b)
}
