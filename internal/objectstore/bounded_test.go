package objectstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rheos/rheos/internal/metastore"
)

// limitedKV is a metadata store that refuses, as etcd does, every commit
// beyond metastore.EtcdLimits, and records the largest it let through. A
// failing hook makes chosen commits fail (a crash or an outage after the
// commit that decides).
type limitedKV struct {
	KV     scanKV
	limits metastore.Limits

	mu                  sync.Mutex
	maxOps, maxBytes    int
	maxValue            int
	fail                func(compare map[string]uint64, puts map[string][]byte, deletes []string) bool
	refused, failedHook int
}

var errInjected = errors.New("injected metadata failure")

func (m *limitedKV) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	return m.KV.Get(ctx, key)
}

func (m *limitedKV) ScanFrom(ctx context.Context, prefix, from string, fn func(string, []byte, uint64) error) error {
	return m.KV.ScanFrom(ctx, prefix, from, fn)
}

func (m *limitedKV) Commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (bool, uint64, error) {
	m.mu.Lock()
	if err := m.limits.Check(compare, puts, deletes, len("rheos/")); err != nil {
		m.refused++
		m.mu.Unlock()
		return false, 0, err
	}
	if m.fail != nil && m.fail(compare, puts, deletes) {
		m.failedHook++
		m.mu.Unlock()
		return false, 0, errInjected
	}
	m.maxOps = max(m.maxOps, len(compare), len(puts)+len(deletes))
	n := 0
	for k, v := range puts {
		n += len(k) + len(v)
		m.maxValue = max(m.maxValue, len(v))
	}
	for _, k := range deletes {
		n += len(k)
	}
	m.maxBytes = max(m.maxBytes, n)
	m.mu.Unlock()
	return m.KV.Commit(ctx, compare, puts, deletes)
}

// setFail installs (or, with nil, removes) the failing hook.
func (m *limitedKV) setFail(f func(compare map[string]uint64, puts map[string][]byte, deletes []string) bool) {
	m.mu.Lock()
	m.fail = f
	m.mu.Unlock()
}

// failCollection makes every commit of a collection fail after the first
// allowed ones (collection commits only delete).
func (m *limitedKV) failCollection(allowed int) {
	m.setFail(func(compare map[string]uint64, puts map[string][]byte, _ []string) bool {
		if len(compare) > 0 || len(puts) > 0 {
			return false
		}
		allowed--
		return allowed < 0
	})
}

// limitedHarness is a harness whose store runs over kv.
type limitedHarness struct {
	*harness
	kv *limitedKV
	// legacy: records may list more than inlineFiles files (audit).
	legacy bool
}

func newLimitedHarness(t *testing.T) *limitedHarness { return newHarnessOver(t, openMeta(t)) }

// scanKV is a MetaStore that also scans (for the audit).
type scanKV interface {
	MetaStore
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte, rev uint64) error) error
}

func newHarnessOver(t *testing.T, kv scanKV) *limitedHarness {
	t.Helper()
	lkv := &limitedKV{KV: kv, limits: metastore.EtcdLimits}
	return &limitedHarness{harness: newHarnessWith(t, lkv), kv: lkv}
}

// upload creates an upload of bucket/key with n parts ("part-00001|..."),
// and returns its id and the parts.
func (h *limitedHarness) upload(bucket, key string, n int) (string, []CompletedPart, []string) {
	h.t.Helper()
	ctx := context.Background()
	id, err := h.s.CreateUpload(ctx, acct, bucket, key, ObjectMeta{ContentType: "application/x-test"})
	if err != nil {
		h.t.Fatal(err)
	}
	var parts []CompletedPart
	var data []string
	for i := 1; i <= n; i++ {
		d := fmt.Sprintf("%s/%s part-%05d|", bucket, key, i)
		p, err := h.s.PutPart(ctx, PartInput{Account: acct, Bucket: bucket, Key: key, UploadID: id, Number: i, Body: strings.NewReader(d), Size: int64(len(d))})
		if err != nil {
			h.t.Fatalf("part %d: %v", i, err)
		}
		parts = append(parts, CompletedPart{Number: i, ETag: p.ETag})
		data = append(data, d)
	}
	return id, parts, data
}

// audit checks the store's metadata and files are exactly what its live
// records name: no release record pending, no part key of an ended upload,
// no list chunk no object names, one file key per referenced file and one
// data file per file key.
func (h *limitedHarness) audit() {
	h.t.Helper()
	ctx := context.Background()
	keys := map[string][]string{}
	vals := map[string][]byte{}
	err := h.kv.KV.Scan(ctx, "s3/", func(k string, v []byte, _ uint64) error {
		i := strings.Index(k[len("s3/"):], "/") + len("s3/") + 1
		keys[k[:i]] = append(keys[k[:i]], k)
		vals[k] = v
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if r := keys[keyRelease]; len(r) > 0 {
		h.t.Fatalf("%d release records left", len(r))
	}
	referenced := map[string]bool{}
	lists := map[string]bool{}
	for _, k := range keys[keyObjects] {
		var rec objectRecord
		if err := jsonUnmarshal(k, vals[k], &rec); err != nil {
			h.t.Fatal(err)
		}
		if len(rec.Files) > inlineFiles && !h.legacy {
			h.t.Fatalf("%s lists %d files inline", k, len(rec.Files))
		}
		files, err := h.s.files(ctx, rec)
		if err != nil {
			h.t.Fatalf("%s: %v", k, err)
		}
		for _, f := range files {
			referenced[f.ID] = true
		}
		if rec.List != nil {
			lists[rec.List.ID] = true
		}
	}
	for _, k := range keys[keyLists] {
		if id := strings.Split(k[len(keyLists):], "/")[0]; !lists[id] {
			h.t.Fatalf("list chunk %s of no object", k)
		}
	}
	uploads := map[string]bool{}
	for _, k := range keys[keyUploads] {
		bucket, id, _ := strings.Cut(k[len(keyUploads):], "/")
		if _, rev, _ := h.kv.Get(ctx, keyBuckets+bucket); rev == 0 {
			h.t.Fatalf("upload %s in no bucket", k)
		}
		uploads[id] = true
	}
	for _, k := range keys[keyParts] {
		id := strings.Split(k[len(keyParts):], "/")[0]
		if !uploads[id] {
			h.t.Fatalf("part %s of no upload", k)
		}
		var p partRecord
		if err := jsonUnmarshal(k, vals[k], &p); err != nil {
			h.t.Fatal(err)
		}
		if referenced[p.File.ID] {
			h.t.Fatalf("part %s's file is an object's too", k)
		}
		referenced[p.File.ID] = true
	}
	var fileKeys []string
	for _, k := range keys[keyFiles] {
		id := k[len(keyFiles):]
		if !referenced[id] {
			h.t.Fatalf("file key %s (%s) names a file no record names", k, vals[k])
		}
		fileKeys = append(fileKeys, id)
	}
	if len(fileKeys) != len(referenced) {
		h.t.Fatalf("%d file keys for %d referenced files", len(fileKeys), len(referenced))
	}
	var onDisk []string
	for _, p := range h.dataFiles() {
		onDisk = append(onDisk, p[strings.LastIndex(p, "/")+1:])
	}
	sort.Strings(onDisk)
	sort.Strings(fileKeys)
	if strings.Join(onDisk, ",") != strings.Join(fileKeys, ",") {
		h.t.Fatalf("data files %v, file keys %v", onDisk, fileKeys)
	}
}

// checkObject reads bucket/key whole and by parts.
func (h *limitedHarness) checkObject(bucket, key string, data []string) {
	h.t.Helper()
	want := strings.Join(data, "")
	if got, err := h.get(bucket, key); err != nil || got != want {
		h.t.Fatalf("%s/%s: %d bytes, %v; want %d", bucket, key, len(got), err, len(want))
	}
	o, err := h.s.OpenObject(context.Background(), acct, bucket, key)
	if err != nil {
		h.t.Fatal(err)
	}
	defer o.Close()
	if o.Info.Parts != len(data) || o.Info.Size != int64(len(want)) || !strings.HasSuffix(o.Info.ETag, fmt.Sprintf("-%d\"", len(data))) {
		h.t.Fatalf("info %+v for %d parts", o.Info, len(data))
	}
	for _, n := range []int{1, len(data) / 2, len(data)} {
		off, size, ok := o.PartRange(n)
		b, _ := io.ReadAll(o.Range(off, size))
		if !ok || string(b) != data[n-1] {
			h.t.Fatalf("part %d = %q, want %q", n, b, data[n-1])
		}
	}
}

// TestManyParts: completing and aborting 300-part uploads, replacing and
// deleting 300-part objects, and deleting a bucket with several such
// uploads, every commit within etcd's limits; nothing is left behind.
func TestManyParts(t *testing.T) { testManyParts(t, newLimitedHarness(t), 300) }

// TestManyPartsEtcd is TestManyParts on an etcd member.
func TestManyPartsEtcd(t *testing.T) { testManyParts(t, newEtcdHarness(t), 150) }

func testManyParts(t *testing.T, h *limitedHarness, n int) {
	ctx := context.Background()
	h.bucket("bkt")
	h.put("bkt", "big", "old single-part object")

	// Complete with a subset: every part but the multiples of 7.
	id, parts, data := h.upload("bkt", "big", n)
	_, listed, more, err := h.s.ListParts(ctx, acct, "bkt", "big", id, n-50, 0)
	if err != nil || len(listed) != 50 || more || listed[0].Number != n-49 {
		t.Fatalf("ListParts after %d: %d parts, %v, %v", n-50, len(listed), more, err)
	}
	var named []CompletedPart
	var namedData []string
	for i, p := range parts {
		if p.Number%7 != 0 {
			named = append(named, p)
			namedData = append(namedData, data[i])
		}
	}
	info, err := h.s.CompleteUpload(ctx, acct, "bkt", "big", id, named)
	if err != nil {
		t.Fatal(err)
	}
	sums := md5.New()
	for _, p := range named {
		b, _ := hex.DecodeString(strings.Trim(p.ETag, `"`))
		sums.Write(b)
	}
	if want := fmt.Sprintf(`"%x-%d"`, sums.Sum(nil), len(named)); info.ETag != want {
		t.Fatalf("etag %s, want %s", info.ETag, want)
	}
	h.checkObject("bkt", "big", namedData)
	if _, err := h.s.CompleteUpload(ctx, acct, "bkt", "big", id, named); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("second complete: %v", err)
	}
	h.audit()
	if n := len(h.dataFiles()); n != len(named) {
		t.Fatalf("%d files for %d parts", n, len(named))
	}

	// Replaced by a 300-part object, then by a single-part one.
	_, parts, data = h.upload("bkt", "big", n)
	if _, err := h.s.CompleteUpload(ctx, acct, "bkt", "big", onlyUpload(h, "bkt", "big"), parts); err != nil {
		t.Fatal(err)
	}
	h.checkObject("bkt", "big", data)
	h.audit()
	h.put("bkt", "big", "small again")
	h.audit()

	// Deleted.
	_, parts, _ = h.upload("bkt", "gone", n)
	if _, err := h.s.CompleteUpload(ctx, acct, "bkt", "gone", onlyUpload(h, "bkt", "gone"), parts); err != nil {
		t.Fatal(err)
	}
	if err := h.s.DeleteObject(ctx, acct, "bkt", "gone"); err != nil {
		t.Fatal(err)
	}
	h.audit()

	// Aborted.
	id, _, _ = h.upload("bkt", "aborted", n)
	if err := h.s.AbortUpload(ctx, acct, "bkt", "aborted", id); err != nil {
		t.Fatal(err)
	}
	wantIs(t, h.s.AbortUpload(ctx, acct, "bkt", "aborted", id), ErrNoSuchUpload)
	h.audit()

	// A bucket with several uploads goes.
	h.bucket("bkt2")
	for i := range 3 {
		h.upload("bkt2", fmt.Sprintf("u%d", i), n)
	}
	if ups, _ := h.s.ListUploads(ctx, acct, "bkt2", ""); len(ups) != 3 {
		t.Fatalf("%d uploads", len(ups))
	}
	if err := h.s.DeleteBucket(ctx, acct, "bkt2"); err != nil {
		t.Fatal(err)
	}
	h.audit()
	h.bucket("bkt2")
	if ups, err := h.s.ListUploads(ctx, acct, "bkt2", ""); len(ups) != 0 || err != nil {
		t.Fatalf("uploads in the new bucket: %v, %v", ups, err)
	}
	if err := h.s.DeleteObject(ctx, acct, "bkt", "big"); err != nil {
		t.Fatal(err)
	}
	if err := h.s.DeleteBucket(ctx, acct, "bkt"); err != nil {
		t.Fatal(err)
	}
	h.audit()
	if n := len(h.dataFiles()); n != 0 {
		t.Fatalf("%d files left", n)
	}
	if h.kv.refused != 0 || h.kv.maxOps > metastore.EtcdLimits.MaxOps {
		t.Fatalf("%d commits refused; the largest had %d operations", h.kv.refused, h.kv.maxOps)
	}
	t.Logf("largest commit: %d operations, %d bytes; largest value %d bytes", h.kv.maxOps, h.kv.maxBytes, h.kv.maxValue)
}

// onlyUpload is the id of the only upload of bucket/key.
func onlyUpload(h *limitedHarness, bucket, key string) string {
	h.t.Helper()
	ups, err := h.s.ListUploads(context.Background(), acct, bucket, key)
	if err != nil || len(ups) != 1 {
		h.t.Fatalf("uploads of %s: %v, %v", key, ups, err)
	}
	return ups[0].ID
}

// TestMaxPartsCommit: the commit installing an object of S3's 10,000
// parts, replacing one that lists 32 files itself, is within etcd's
// limits, and each value well under 1 MiB.
func TestMaxPartsCommit(t *testing.T) {
	t.Parallel()
	files := make([]fileRef, MaxParts)
	for i := range files {
		files[i] = fileRef{ID: newID(), Size: MaxObjectSize}
	}
	c := newChange()
	key := objectKey(strings.Repeat("b", 63), strings.Repeat("k", MaxKeyBytes))
	rec := objectRecord{Size: MaxMultipartSize, ETag: strings.Repeat("e", 40), Parts: MaxParts,
		ObjectMeta: ObjectMeta{Metadata: map[string]string{"m": strings.Repeat("v", 2048)}}}
	rec.setFiles(c, files)
	old := objectRecord{Files: files[:inlineFiles]}
	c.compare[key], c.compare[keyBuckets+strings.Repeat("b", 63)], c.compare[uploadKey("bkt", newID())] = 1, 1, 1
	c.puts[key] = mustJSON(rec)
	c.deletes = append(c.deletes, uploadKey("bkt", newID()))
	c.drop(old)
	keep := make([]byte, MaxParts/8+1)
	for i := range keep {
		keep[i] = 0xff
	}
	c.release(releaseRecord{Upload: newID(), Keep: keep})
	if err := metastore.EtcdLimits.Check(c.compare, c.puts, c.deletes, 64); err != nil {
		t.Fatal(err)
	}
	for k, v := range c.puts {
		if len(v) > 64<<10 {
			t.Fatalf("%s: %d bytes", k, len(v))
		}
	}
	s := &Store{meta: mapKV(c.puts)}
	got, err := s.files(context.Background(), rec)
	if err != nil || len(got) != MaxParts || got[9999] != files[9999] {
		t.Fatalf("files: %d, %v", len(got), err)
	}
}

// mapKV serves ScanFrom from a map.
type mapKV map[string][]byte

func (m mapKV) Get(_ context.Context, k string) ([]byte, uint64, error) {
	if v, ok := m[k]; ok {
		return v, 1, nil
	}
	return nil, 0, nil
}

func (m mapKV) ScanFrom(_ context.Context, prefix, from string, fn func(string, []byte, uint64) error) error {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, prefix) && k >= from {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(k, m[k], 1); err != nil {
			return err
		}
	}
	return nil
}

func (m mapKV) Commit(context.Context, map[string]uint64, map[string][]byte, []string) (bool, uint64, error) {
	return false, 0, errors.New("read only")
}

// TestCollectAfterCrash: when the collection after a deciding commit fails
// part way (an outage, then a crash), the outcome stands, nothing left is
// visible, and the next Open collects everything.
func TestCollectAfterCrash(t *testing.T) { testCollectAfterCrash(t, newLimitedHarness) }

// TestCollectAfterCrashEtcd is TestCollectAfterCrash on an etcd member.
func TestCollectAfterCrashEtcd(t *testing.T) { testCollectAfterCrash(t, newEtcdHarness) }

func testCollectAfterCrash(t *testing.T, newHarness func(*testing.T) *limitedHarness) {
	ctx := context.Background()
	var completed []string
	for _, tc := range []struct {
		name string
		op   func(h *limitedHarness)
		then func(h *limitedHarness)
	}{
		{"complete", func(h *limitedHarness) {
			id, parts, data := h.upload("bkt", "k", 120)
			if _, err := h.s.CompleteUpload(ctx, acct, "bkt", "k", id, parts[:100]); err != nil {
				t.Fatal(err)
			}
			h.checkObject("bkt", "k", data[:100])
			completed = data[:100]
		}, func(h *limitedHarness) {
			h.checkObject("bkt", "k", completed)
		}},
		{"abort", func(h *limitedHarness) {
			id, _, _ := h.upload("bkt", "k", 120)
			if err := h.s.AbortUpload(ctx, acct, "bkt", "k", id); err != nil {
				t.Fatal(err)
			}
		}, func(h *limitedHarness) {
			if ups, err := h.s.ListUploads(ctx, acct, "bkt", ""); len(ups) != 0 || err != nil {
				t.Fatalf("uploads after abort: %v, %v", ups, err)
			}
		}},
		{"delete", func(h *limitedHarness) {
			h.kv.setFail(nil)
			id, parts, _ := h.upload("bkt", "k", 120)
			if _, err := h.s.CompleteUpload(ctx, acct, "bkt", "k", id, parts); err != nil {
				t.Fatal(err)
			}
			h.kv.failCollection(1)
			if err := h.s.DeleteObject(ctx, acct, "bkt", "k"); err != nil {
				t.Fatal(err)
			}
			if _, err := h.s.HeadObject(ctx, acct, "bkt", "k"); !errors.Is(err, ErrNoSuchKey) {
				t.Fatalf("head after delete: %v", err)
			}
		}, func(h *limitedHarness) {
			if _, err := h.s.HeadObject(ctx, acct, "bkt", "k"); !errors.Is(err, ErrNoSuchKey) {
				t.Fatalf("head after delete: %v", err)
			}
		}},
		{"replace", func(h *limitedHarness) {
			h.kv.setFail(nil)
			id, parts, _ := h.upload("bkt", "k", 120)
			if _, err := h.s.CompleteUpload(ctx, acct, "bkt", "k", id, parts); err != nil {
				t.Fatal(err)
			}
			h.kv.failCollection(1)
			h.put("bkt", "k", "new")
		}, func(h *limitedHarness) {
			if got, err := h.get("bkt", "k"); got != "new" || err != nil {
				t.Fatalf("k = %q, %v", got, err)
			}
		}},
		{"bucket", func(h *limitedHarness) {
			h.kv.setFail(nil)
			h.bucket("bkt2")
			for i := range 3 {
				h.upload("bkt2", fmt.Sprintf("u%d", i), 60)
			}
			h.kv.failCollection(1)
			if err := h.s.DeleteBucket(ctx, acct, "bkt2"); err != nil {
				t.Fatal(err)
			}
			h.kv.setFail(nil)
			// A bucket of the name, before the crash: no upload of the old one.
			h.bucket("bkt2")
			if ups, err := h.s.ListUploads(ctx, acct, "bkt2", ""); len(ups) != 0 || err != nil {
				t.Fatalf("uploads in the new bucket: %v, %v", ups, err)
			}
			h.upload("bkt2", "new", 20)
		}, func(h *limitedHarness) {
			if ups, err := h.s.ListUploads(ctx, acct, "bkt2", ""); len(ups) != 1 || ups[0].Key != "new" || err != nil {
				t.Fatalf("uploads in the new bucket: %v, %v", ups, err)
			}
			_, parts, _, err := h.s.ListParts(ctx, acct, "bkt2", "new", onlyUpload(h, "bkt2", "new"), 0, 0)
			if err != nil || len(parts) != 20 {
				t.Fatalf("parts of the new upload: %d, %v", len(parts), err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.bucket("bkt")
			h.kv.failCollection(1) // a few batches go through, then none
			tc.op(h)
			if h.kv.failedHook == 0 {
				t.Fatal("no collection failed")
			}
			var pending int
			h.kv.KV.Scan(ctx, keyRelease, func(string, []byte, uint64) error { pending++; return nil })
			if pending == 0 {
				t.Fatal("no release record pending")
			}
			h.kv.setFail(nil)
			h.fs.Crash()
			h.reopen()
			h.audit()
			if tc.then != nil {
				tc.then(h)
			}
			if h.kv.refused != 0 {
				t.Fatalf("%d commits refused", h.kv.refused)
			}
		})
	}
}

// TestCompleteAbortRace: Completes and Aborts racing on uploads of many
// parts: one wins each, its outcome whole, nothing left behind.
func TestCompleteAbortRace(t *testing.T) {
	ctx := context.Background()
	h := newLimitedHarness(t)
	h.bucket("bkt")
	for round := range 4 {
		key := fmt.Sprintf("k%d", round)
		id, parts, data := h.upload("bkt", key, 40)
		var wg sync.WaitGroup
		var mu sync.Mutex
		completed, aborted := 0, 0
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if w%2 == 0 {
					_, err = h.s.CompleteUpload(ctx, acct, "bkt", key, id, parts)
				} else {
					err = h.s.AbortUpload(ctx, acct, "bkt", key, id)
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && w%2 == 0:
					completed++
				case err == nil:
					aborted++
				case !errors.Is(err, ErrNoSuchUpload):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if completed+aborted != 1 {
			t.Fatalf("%d completed, %d aborted", completed, aborted)
		}
		if completed == 1 {
			h.checkObject("bkt", key, data)
		} else if _, err := h.s.HeadObject(ctx, acct, "bkt", key); !errors.Is(err, ErrNoSuchKey) {
			t.Fatalf("aborted upload made an object: %v", err)
		}
		h.audit()
	}
}

// TestLegacyInlineFiles: an object whose record lists more than
// inlineFiles files itself (as the store wrote them before file lists) is
// replaced and deleted in bounded commits.
func TestLegacyInlineFiles(t *testing.T) {
	ctx := context.Background()
	h := newLimitedHarness(t)
	h.bucket("bkt")
	for _, op := range []string{"replace", "delete"} {
		rec := objectRecord{ETag: "x-200", Parts: 200}
		puts := map[string][]byte{}
		var want strings.Builder
		for i := range 200 {
			d := fmt.Sprintf("legacy %d|", i)
			got, err := h.s.receive(ctx, body{r: strings.NewReader(d), size: int64(len(d)), max: MaxObjectSize})
			if err != nil {
				t.Fatal(err)
			}
			rec.Files = append(rec.Files, got.file)
			rec.Size += got.file.Size
			puts[keyFiles+got.file.ID] = []byte("bkt/k")
			want.WriteString(d)
		}
		puts[objectKey("bkt", "k")] = mustJSON(rec)
		h.legacy = true
		if ok, _, err := h.kv.KV.Commit(ctx, nil, puts, nil); !ok || err != nil { // no limits: the embedded store
			t.Fatal(ok, err)
		}
		if got, err := h.get("bkt", "k"); got != want.String() || err != nil {
			t.Fatalf("legacy object: %d bytes, %v", len(got), err)
		}
		h.audit()
		h.legacy = false
		if op == "replace" {
			h.put("bkt", "k", "new")
			h.audit()
			if err := h.s.DeleteObject(ctx, acct, "bkt", "k"); err != nil {
				t.Fatal(err)
			}
		} else if err := h.s.DeleteObject(ctx, acct, "bkt", "k"); err != nil {
			t.Fatal(err)
		}
		h.audit()
		if n := len(h.dataFiles()); n != 0 || h.kv.refused != 0 {
			t.Fatalf("%d files left, %d commits refused", n, h.kv.refused)
		}
	}
}
