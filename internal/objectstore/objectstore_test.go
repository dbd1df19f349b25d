package objectstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rheos/rheos/internal/metastore"
	"github.com/rheos/rheos/internal/vfs"
)

const acct = "111111111111"

// harness is a store over a MemFS and a real metadata store, reopenable.
type harness struct {
	t    *testing.T
	fs   *vfs.MemFS
	meta MetaStore
	s    *Store
}

func newHarness(t *testing.T) *harness { return newHarnessWith(t, openMeta(t)) }

// openMeta opens an embedded metadata store for the test.
func openMeta(t *testing.T) *metastore.Store {
	t.Helper()
	meta, err := metastore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	return meta
}

// newHarnessWith is a harness over meta.
func newHarnessWith(t *testing.T, meta MetaStore) *harness {
	t.Helper()
	h := &harness{t: t, fs: vfs.NewMemFS(), meta: meta}
	if err := h.fs.MkdirAll("/data"); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	return h
}

func (h *harness) reopen() {
	h.t.Helper()
	s, err := Open(context.Background(), Config{Dir: "/data/s3", FS: h.fs, MinPartSize: 10, Logger: slog.New(slog.DiscardHandler)}, h.meta)
	if err != nil {
		h.t.Fatal(err)
	}
	h.s = s
}

// dataFiles lists every file under data/ and tmp/.
func (h *harness) dataFiles() []string {
	h.t.Helper()
	var out []string
	names, _ := h.fs.ReadDir("/data/s3/tmp")
	for _, n := range names {
		out = append(out, "tmp/"+n)
	}
	for i := 0; i < 256; i++ {
		dir := fmt.Sprintf("/data/s3/data/%02x", i)
		names, err := h.fs.ReadDir(dir)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, n := range names {
			out = append(out, dir+"/"+n)
		}
	}
	return out
}

func (h *harness) bucket(name string) {
	h.t.Helper()
	if err := h.s.CreateBucket(context.Background(), acct, name, ""); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) put(bucket, key, data string) string {
	h.t.Helper()
	etag, err := h.s.PutObject(context.Background(), acct, bucket, key, strings.NewReader(data), int64(len(data)), "text/plain")
	if err != nil {
		h.t.Fatalf("put %s: %v", key, err)
	}
	return etag
}

func (h *harness) get(bucket, key string) (string, error) {
	rc, _, err := h.s.GetObject(context.Background(), acct, bucket, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func wantIs(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func TestBuckets(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.bucket("b-one")
	wantIs(t, h.s.CreateBucket(ctx, acct, "b-one", ""), ErrBucketAlreadyOwned)
	wantIs(t, h.s.CreateBucket(ctx, "222222222222", "b-one", ""), ErrBucketAlreadyExists)
	for _, bad := range []string{"ab", "Upper", "a..b", "-ab", "ab-", "192.168.1.1", "xn--abc", "a_b", strings.Repeat("a", 64), "x-s3alias"} {
		wantIs(t, h.s.CreateBucket(ctx, acct, bad, ""), ErrInvalidBucketName)
	}
	if err := h.s.CreateBucket(ctx, "222222222222", "other", "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	h.bucket("a.dotted.name")
	bs, err := h.s.ListBuckets(ctx, acct)
	if err != nil || len(bs) != 2 || bs[0].Name != "a.dotted.name" || bs[1].Name != "b-one" || bs[1].Region != "us-east-1" {
		t.Fatalf("ListBuckets = %+v, %v", bs, err)
	}
	if b, err := h.s.HeadBucket(ctx, "222222222222", "other"); err != nil || b.Region != "eu-west-1" {
		t.Fatalf("HeadBucket = %+v, %v", b, err)
	}
	_, err = h.s.HeadBucket(ctx, acct, "other")
	wantIs(t, err, ErrAccessDenied)
	_, err = h.s.HeadBucket(ctx, acct, "missing")
	wantIs(t, err, ErrNoSuchBucket)
	_, err = h.s.PutObject(ctx, acct, "other", "k", strings.NewReader("x"), 1, "")
	wantIs(t, err, ErrAccessDenied)
	h.put("b-one", "k", "v")
	id, err := h.s.CreateUpload(ctx, acct, "b-one", "big", ObjectMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.PutPart(ctx, PartInput{Account: acct, Bucket: "b-one", Key: "big", UploadID: id, Number: 1, Body: strings.NewReader("part"), Size: 4}); err != nil {
		t.Fatal(err)
	}
	wantIs(t, h.s.DeleteBucket(ctx, acct, "b-one"), ErrBucketNotEmpty)
	wantIs(t, h.s.DeleteBucket(ctx, "222222222222", "b-one"), ErrAccessDenied)
	if err := h.s.DeleteObject(ctx, acct, "b-one", "k"); err != nil {
		t.Fatal(err)
	}
	// The upload in progress goes with the bucket, and its part's file.
	if err := h.s.DeleteBucket(ctx, acct, "b-one"); err != nil {
		t.Fatal(err)
	}
	if files := h.dataFiles(); len(files) != 0 {
		t.Fatalf("files left: %v", files)
	}
	wantIs(t, h.s.DeleteBucket(ctx, acct, "b-one"), ErrNoSuchBucket)
	// The name is free again, for anyone.
	if err := h.s.CreateBucket(ctx, "222222222222", "b-one", ""); err != nil {
		t.Fatal(err)
	}
}

func TestObjects(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.bucket("bkt")
	keys := []string{
		"plain", "dir/sub/file.txt", "ünïcødé/日本語/😀", "a//b", "../up", "./dot", "trailing/", "sp ace+plus%25",
		strings.Repeat("k", MaxKeyBytes), strings.Repeat("é", MaxKeyBytes/2),
	}
	for i, k := range keys {
		data := fmt.Sprintf("body %d of %q", i, k)
		if etag := h.put("bkt", k, data); etag != md5hex(data) {
			t.Fatalf("etag %s, want %s", etag, md5hex(data))
		}
		got, err := h.get("bkt", k)
		if err != nil || got != data {
			t.Fatalf("get %q = %q, %v", k, got, err)
		}
	}
	_, err := h.s.PutObject(ctx, acct, "bkt", strings.Repeat("k", MaxKeyBytes+1), strings.NewReader(""), 0, "")
	wantIs(t, err, ErrKeyTooLong)
	_, err = h.s.PutObject(ctx, acct, "bkt", "bad\xffutf8", strings.NewReader(""), 0, "")
	wantIs(t, err, ErrInvalidKey)
	_, err = h.s.PutObject(ctx, acct, "nobkt", "k", strings.NewReader(""), 0, "")
	wantIs(t, err, ErrNoSuchBucket)
	_, err = h.get("bkt", "missing")
	wantIs(t, err, ErrNoSuchKey)

	// Metadata and headers round-trip; an overwrite replaces them and
	// releases the old file.
	before := len(h.dataFiles())
	info, err := h.s.Put(ctx, PutInput{Account: acct, Bucket: "bkt", Key: "plain", Body: strings.NewReader("new"), Size: -1,
		ObjectMeta: ObjectMeta{ContentType: "application/json", CacheControl: "no-cache", Metadata: map[string]string{"color": "blue"}}})
	if err != nil {
		t.Fatal(err)
	}
	head, err := h.s.HeadObject(ctx, acct, "bkt", "plain")
	if err != nil || head.Size != 3 || head.ETag != info.ETag || head.ContentType != "application/json" || head.CacheControl != "no-cache" ||
		head.Metadata["color"] != "blue" || head.Modified.IsZero() {
		t.Fatalf("head = %+v, %v", head, err)
	}
	if after := len(h.dataFiles()); after != before {
		t.Fatalf("files %d after an overwrite, %d before", after, before)
	}

	// Ranges.
	o, err := h.s.OpenObject(ctx, acct, "bkt", "dir/sub/file.txt")
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := io.ReadAll(o.Range(0, o.Info.Size))
	for _, r := range [][2]int64{{0, 1}, {3, 4}, {5, 100}, {int64(len(whole)) - 1, 1}} {
		b, _ := io.ReadAll(o.Range(r[0], r[1]))
		if want := whole[r[0]:min(r[0]+r[1], int64(len(whole)))]; !bytes.Equal(b, want) {
			t.Fatalf("range %v = %q, want %q", r, b, want)
		}
	}
	// An open object reads what it opened, whatever happens to its key.
	h.put("bkt", "dir/sub/file.txt", "replaced")
	if err := h.s.DeleteObject(ctx, acct, "bkt", "dir/sub/file.txt"); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(o.Range(0, o.Info.Size)); !bytes.Equal(b, whole) {
		t.Fatalf("open object read %q after its key changed", b)
	}
	o.Close()
	_, err = h.get("bkt", "dir/sub/file.txt")
	wantIs(t, err, ErrNoSuchKey)
	if err := h.s.DeleteObject(ctx, acct, "bkt", "dir/sub/file.txt"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}

	// Copy keeps or replaces the metadata.
	c, err := h.s.CopyObject(ctx, acct, "bkt", "plain", "bkt", "copy", nil)
	if err != nil || c.ETag != md5hex("new") || c.Metadata["color"] != "blue" {
		t.Fatalf("copy = %+v, %v", c, err)
	}
	c, err = h.s.CopyObject(ctx, acct, "bkt", "plain", "bkt", "copy2", &ObjectMeta{ContentType: "x/y"})
	if err != nil || c.ContentType != "x/y" || c.Metadata != nil {
		t.Fatalf("copy with new metadata = %+v, %v", c, err)
	}
	if got, _ := h.get("bkt", "copy2"); got != "new" {
		t.Fatalf("copy2 = %q", got)
	}
}

func TestBodyChecks(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.bucket("bkt")
	put := func(in PutInput) error {
		in.Account, in.Bucket, in.Key = acct, "bkt", "k"
		_, err := h.s.Put(ctx, in)
		return err
	}
	wantIs(t, put(PutInput{Body: strings.NewReader("short"), Size: 10}), ErrIncompleteBody)
	wrong := md5.Sum([]byte("other"))
	wantIs(t, put(PutInput{Body: strings.NewReader("data"), Size: 4, ContentMD5: wrong[:]}), ErrBadDigest)
	wantIs(t, put(PutInput{Body: strings.NewReader("data"), Size: 4, SHA256: strings.Repeat("0", 64)}), ErrContentSHA256)
	right := md5.Sum([]byte("data"))
	sh := sha256.Sum256([]byte("data"))
	if err := put(PutInput{Body: strings.NewReader("data"), Size: 4, ContentMD5: right[:], SHA256: strings.ToUpper(hex.EncodeToString(sh[:]))}); err != nil {
		t.Fatal(err)
	}
	if files := h.dataFiles(); len(files) != 1 {
		t.Fatalf("files after refused bodies: %v", files)
	}
}

// TestPutFailsMidWrite: a PUT that fails anywhere (write, fsync, rename,
// directory fsync) leaves no visible object and the previous one intact,
// and nothing on disk once reopened; after a crash the same.
func TestPutFailsMidWrite(t *testing.T) {
	ctx := context.Background()
	for _, f := range []vfs.Fault{
		{Op: vfs.OpCreate, PathContains: "/tmp/"},
		{Op: vfs.OpWrite, PathContains: "/tmp/"},
		{Op: vfs.OpWrite, PathContains: "/tmp/", After: 3},
		{Op: vfs.OpSync, PathContains: "/tmp/"},
		{Op: vfs.OpRename},
		{Op: vfs.OpSyncDir, PathContains: "/data/s3/data/"},
	} {
		t.Run(fmt.Sprintf("%v-after-%d", f.Op, f.After), func(t *testing.T) {
			h := newHarness(t)
			h.bucket("bkt")
			h.put("bkt", "k", "old")
			big := bytes.Repeat([]byte("x"), 5*copyBuf+7) // several writes
			h.fs.Inject(f)
			_, err := h.s.PutObject(ctx, acct, "bkt", "k", bytes.NewReader(big), int64(len(big)), "")
			if err == nil {
				t.Fatal("the put succeeded")
			}
			_, err = h.s.PutObject(ctx, acct, "bkt", "new", bytes.NewReader(big), int64(len(big)), "")
			if got, _ := h.get("bkt", "k"); got != "old" {
				t.Fatalf("k = %q after a failed overwrite", got)
			}
			// A crash now loses anything unsynced; reopening sweeps.
			h.fs.ClearFaults()
			h.fs.Crash()
			h.reopen()
			if got, err := h.get("bkt", "k"); got != "old" || err != nil {
				t.Fatalf("k = %q, %v after the crash", got, err)
			}
			if files := h.dataFiles(); len(files) != 1 && !(err == nil && len(files) == 2) {
				t.Fatalf("files after recovery: %v", files)
			}
			if err != nil { // the second put may have gone through: the fault fired once
				if _, err := h.s.HeadObject(ctx, acct, "bkt", "new"); !errors.Is(err, ErrNoSuchKey) {
					t.Fatalf("new after a failed put: %v", err)
				}
			}
		})
	}
}

// TestCrashAfterAcknowledgement: what a put acknowledged survives losing
// every unsynced byte, whole.
func TestCrashAfterAcknowledgement(t *testing.T) {
	h := newHarness(t)
	h.bucket("bkt")
	rng := rand.New(rand.NewSource(1))
	want := map[string]string{}
	for i := 0; i < 20; i++ {
		k := fmt.Sprintf("k/%d", rng.Intn(8))
		data := strings.Repeat(string(rune('a'+i)), rng.Intn(3*copyBuf))
		h.put("bkt", k, data)
		want[k] = data
	}
	h.fs.Crash()
	h.reopen()
	for k, data := range want {
		if got, err := h.get("bkt", k); err != nil || got != data {
			t.Fatalf("%s: %d bytes, %v; want %d", k, len(got), err, len(data))
		}
	}
	if files := h.dataFiles(); len(files) != len(want) {
		t.Fatalf("%d files for %d objects", len(files), len(want))
	}
}

// TestSweep: Open removes temporary bodies and data files no metadata
// names, and keeps the others.
func TestSweep(t *testing.T) {
	h := newHarness(t)
	h.bucket("bkt")
	h.put("bkt", "k", "kept")
	for _, p := range []string{"/data/s3/tmp/" + newID(), "/data/s3/data/ab/ab" + newID()[2:]} {
		f, err := h.fs.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("garbage"))
		f.Close()
	}
	if n := len(h.dataFiles()); n != 3 {
		t.Fatalf("%d files before the sweep", n)
	}
	h.reopen()
	if files := h.dataFiles(); len(files) != 1 {
		t.Fatalf("files after the sweep: %v", files)
	}
	if got, _ := h.get("bkt", "k"); got != "kept" {
		t.Fatalf("k = %q", got)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.bucket("bkt")
	keys := []string{"a", "b/1", "b/2", "b/c/1", "b/c/2", "b/d", "c", "c/", "d/x/y", "é", "😀/1"}
	for _, k := range keys {
		h.put("bkt", k, k)
	}
	list := func(in ListInput) string {
		t.Helper()
		res, err := h.s.ListObjects(ctx, acct, "bkt", in)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, o := range res.Objects {
			parts = append(parts, o.Key)
		}
		for _, p := range res.CommonPrefixes {
			parts = append(parts, "P:"+p)
		}
		if res.Truncated {
			parts = append(parts, "more after "+res.Last)
		}
		return strings.Join(parts, " ")
	}
	for _, c := range []struct {
		in   ListInput
		want string
	}{
		{ListInput{}, strings.Join(keys, " ")},
		{ListInput{Prefix: "b/"}, "b/1 b/2 b/c/1 b/c/2 b/d"},
		{ListInput{Delimiter: "/"}, "a c é P:b/ P:c/ P:d/ P:😀/"},
		{ListInput{Prefix: "b/", Delimiter: "/"}, "b/1 b/2 b/d P:b/c/"},
		{ListInput{Prefix: "c", Delimiter: "/"}, "c P:c/"},
		{ListInput{Prefix: "c/", Delimiter: "/"}, "c/"},
		{ListInput{MaxKeys: 3}, "a b/1 b/2 more after b/2"},
		{ListInput{MaxKeys: 3, After: "b/2"}, "b/c/1 b/c/2 b/d more after b/d"},
		{ListInput{Delimiter: "/", MaxKeys: 2}, "a P:b/ more after b/"},
		{ListInput{Delimiter: "/", MaxKeys: 2, After: "b/"}, "c P:c/ more after c/"},
		{ListInput{Delimiter: "/", MaxKeys: 2, After: "c/"}, "é P:d/ more after é"},
		{ListInput{Delimiter: "/", MaxKeys: 2, After: "é"}, "P:😀/"},
		{ListInput{After: "b/c"}, "b/c/1 b/c/2 b/d c c/ d/x/y é 😀/1"},
		{ListInput{Prefix: "zz"}, ""},
		{ListInput{Delimiter: "/x/"}, "a b/1 b/2 b/c/1 b/c/2 b/d c c/ é 😀/1 P:d/x/"},
		{ListInput{MaxKeys: len(keys)}, strings.Join(keys, " ")},
	} {
		if got := list(c.in); got != c.want {
			t.Errorf("List(%+v) = %q, want %q", c.in, got, c.want)
		}
	}
	_, err := h.s.ListObjects(ctx, acct, "missing", ListInput{})
	wantIs(t, err, ErrNoSuchBucket)
}

func TestMultipart(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.bucket("bkt")
	h.put("bkt", "big", "old")
	id, err := h.s.CreateUpload(ctx, acct, "bkt", "big", ObjectMeta{ContentType: "video/mp4", Metadata: map[string]string{"m": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	part := func(n int, data string) Part {
		t.Helper()
		p, err := h.s.PutPart(ctx, PartInput{Account: acct, Bucket: "bkt", Key: "big", UploadID: id, Number: n, Body: strings.NewReader(data), Size: int64(len(data))})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1 := part(1, "first-part-") // 11 bytes, above the test's 10-byte minimum
	part(2, "discarded")
	p3 := part(3, "third-part!!")
	part(3, "THIRD-PART!!") // replaces part 3
	p3b := part(3, "third-part!?")
	if p3b.ETag == p3.ETag {
		t.Fatal("same etag for different bytes")
	}
	small := part(4, "tiny")
	_, parts, more, err := h.s.ListParts(ctx, acct, "bkt", "big", id, 0, 2)
	if err != nil || len(parts) != 2 || !more || parts[0].Number != 1 || parts[1].Number != 2 {
		t.Fatalf("ListParts = %+v %v %v", parts, more, err)
	}
	_, parts, more, _ = h.s.ListParts(ctx, acct, "bkt", "big", id, 2, 0)
	if len(parts) != 2 || more || parts[0].ETag != p3b.ETag {
		t.Fatalf("ListParts after 2 = %+v %v", parts, more)
	}
	ups, err := h.s.ListUploads(ctx, acct, "bkt", "")
	if err != nil || len(ups) != 1 || ups[0].ID != id || ups[0].Key != "big" {
		t.Fatalf("ListUploads = %+v, %v", ups, err)
	}

	_, err = h.s.CompleteUpload(ctx, acct, "bkt", "big", id, []CompletedPart{{3, p3b.ETag}, {1, p1.ETag}})
	wantIs(t, err, ErrInvalidPartOrder)
	_, err = h.s.CompleteUpload(ctx, acct, "bkt", "big", id, []CompletedPart{{1, p1.ETag}, {3, p3.ETag}})
	wantIs(t, err, ErrInvalidPart)
	_, err = h.s.CompleteUpload(ctx, acct, "bkt", "big", id, []CompletedPart{{1, p1.ETag}, {5, p3.ETag}})
	wantIs(t, err, ErrInvalidPart)
	_, err = h.s.CompleteUpload(ctx, acct, "bkt", "big", id, []CompletedPart{{1, p1.ETag}, {4, small.ETag}, {3, p3b.ETag}})
	wantIs(t, err, ErrInvalidPartOrder)
	_, err = h.s.CompleteUpload(ctx, acct, "bkt", "big", id, []CompletedPart{{1, p1.ETag}, {3, p3b.ETag}, {4, small.ETag}})
	if err != nil {
		t.Fatalf("a small last part: %v", err)
	}
	got, _ := h.get("bkt", "big")
	if got != "first-part-third-part!?tiny" {
		t.Fatalf("big = %q", got)
	}
	// AWS's multipart ETag: the MD5 of the parts' MD5s, and their count.
	sums := md5.New()
	for _, e := range []string{p1.ETag, p3b.ETag, small.ETag} {
		b, _ := hex.DecodeString(strings.Trim(e, `"`))
		sums.Write(b)
	}
	info, _ := h.s.HeadObject(ctx, acct, "bkt", "big")
	if want := `"` + hex.EncodeToString(sums.Sum(nil)) + `-3"`; info.ETag != want || info.Parts != 3 || info.ContentType != "video/mp4" || info.Metadata["m"] != "1" {
		t.Fatalf("head = %+v, want etag %s", info, want)
	}
	// Ranges across parts.
	o, _ := h.s.OpenObject(ctx, acct, "bkt", "big")
	if b, _ := io.ReadAll(o.Range(9, 5)); string(b) != "t-thi" {
		t.Fatalf("range across parts = %q", b)
	}
	o.Close()
	// The upload is gone; part 2's file and the old object's too.
	_, err = h.s.CompleteUpload(ctx, acct, "bkt", "big", id, []CompletedPart{{1, p1.ETag}})
	wantIs(t, err, ErrNoSuchUpload)
	if files := h.dataFiles(); len(files) != 3 {
		t.Fatalf("files: %v", files)
	}
	_, err = h.s.PutPart(ctx, PartInput{Account: acct, Bucket: "bkt", Key: "big", UploadID: id, Number: 1, Body: strings.NewReader("x"), Size: 1})
	wantIs(t, err, ErrNoSuchUpload)

	// Too small a part but the last; abort discards the parts.
	id2, _ := h.s.CreateUpload(ctx, acct, "bkt", "big2", ObjectMeta{})
	for n, d := range []string{"small", "also-small"} {
		if _, err := h.s.PutPart(ctx, PartInput{Account: acct, Bucket: "bkt", Key: "big2", UploadID: id2, Number: n + 1, Body: strings.NewReader(d), Size: int64(len(d))}); err != nil {
			t.Fatal(err)
		}
	}
	_, parts, _, _ = h.s.ListParts(ctx, acct, "bkt", "big2", id2, 0, 0)
	_, err = h.s.CompleteUpload(ctx, acct, "bkt", "big2", id2, []CompletedPart{{1, parts[0].ETag}, {2, parts[1].ETag}})
	wantIs(t, err, ErrEntityTooSmall)
	_, err = h.s.PutPart(ctx, PartInput{Account: acct, Bucket: "bkt", Key: "big2", UploadID: id2, Number: 10001, Body: strings.NewReader("x"), Size: 1})
	wantIs(t, err, ErrInvalidPartNumber)
	_, _, _, err = h.s.ListParts(ctx, acct, "bkt", "other-key", id2, 0, 0)
	wantIs(t, err, ErrNoSuchUpload)
	if err := h.s.AbortUpload(ctx, acct, "bkt", "big2", id2); err != nil {
		t.Fatal(err)
	}
	wantIs(t, h.s.AbortUpload(ctx, acct, "bkt", "big2", id2), ErrNoSuchUpload)
	if files := h.dataFiles(); len(files) != 3 {
		t.Fatalf("files after abort: %v", files)
	}
}

// TestConcurrentWrites: puts, parts and deletes racing on the same keys
// leave every key whole and no file unaccounted for.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.bucket("bkt")
	id, _ := h.s.CreateUpload(ctx, acct, "bkt", "mp", ObjectMeta{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				k := fmt.Sprintf("k%d", i%3)
				data := strings.Repeat(fmt.Sprint(w), 100+i)
				if _, err := h.s.PutObject(ctx, acct, "bkt", k, strings.NewReader(data), int64(len(data)), ""); err != nil {
					t.Error(err)
				}
				if i%5 == 0 {
					if err := h.s.DeleteObject(ctx, acct, "bkt", k); err != nil {
						t.Error(err)
					}
				}
				if _, err := h.s.PutPart(ctx, PartInput{Account: acct, Bucket: "bkt", Key: "mp", UploadID: id, Number: 1 + i%4,
					Body: strings.NewReader(data), Size: int64(len(data))}); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	res, _ := h.s.ListObjects(ctx, acct, "bkt", ListInput{})
	for _, o := range res.Objects {
		got, err := h.get("bkt", o.Key)
		if err != nil || int64(len(got)) != o.Size || md5hex(got) != o.ETag {
			t.Fatalf("%s: %d bytes %v, want %d %s", o.Key, len(got), err, o.Size, o.ETag)
		}
	}
	_, parts, _, _ := h.s.ListParts(ctx, acct, "bkt", "mp", id, 0, 0)
	if files := h.dataFiles(); len(files) != len(res.Objects)+len(parts) {
		t.Fatalf("%d files for %d objects and %d parts", len(files), len(res.Objects), len(parts))
	}
}

// TestFilesPrivate: data files are 0600 and directories 0700.
func TestFilesPrivate(t *testing.T) {
	dir := t.TempDir()
	meta, err := metastore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	s, err := Open(context.Background(), Config{Dir: filepath.Join(dir, "s3")}, meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket(context.Background(), acct, "bkt", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutObject(context.Background(), acct, "bkt", "k", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	checkPerms(t, filepath.Join(dir, "s3"))
}

func checkPerms(t *testing.T, root string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := vfs.FilePerm
		if d.IsDir() {
			want = vfs.DirPerm
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: %v, want %v", p, fi.Mode().Perm(), want)
		}
		n++
		return nil
	})
	if err != nil || n < 259 {
		t.Fatalf("walked %d entries: %v", n, err)
	}
}

// TestChecksums: each additional checksum is verified as the body streams
// (from a header or a trailer) and kept with the object; a wrong one
// refuses the body.
func TestChecksums(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.bucket("bkt")
	// The check values of "123456789" (CRC catalogue), and SHA-1/SHA-256.
	be := func(v uint64, n int) string {
		b := make([]byte, n)
		for i := n - 1; i >= 0; i-- {
			b[i], v = byte(v), v>>8
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	s1, s256 := sha1.Sum([]byte("123456789")), sha256.Sum256([]byte("123456789"))
	want := map[string]string{
		"CRC32": be(0xCBF43926, 4), "CRC32C": be(0xE3069283, 4), "CRC64NVME": be(0xAE8B14860A799888, 8),
		"SHA1": base64.StdEncoding.EncodeToString(s1[:]), "SHA256": base64.StdEncoding.EncodeToString(s256[:]),
	}
	if len(want) != len(ChecksumAlgorithms()) {
		t.Fatal("an algorithm untested")
	}
	for alg, v := range want {
		info, err := h.s.Put(ctx, PutInput{Account: acct, Bucket: "bkt", Key: alg, Body: strings.NewReader("123456789"), Size: 9,
			Checksum: &Checksum{Algorithm: alg, Value: v}})
		if err != nil || info.ChecksumAlgorithm != alg || info.Checksum != v {
			t.Fatalf("%s: %+v, %v", alg, info, err)
		}
		head, _ := h.s.HeadObject(ctx, acct, "bkt", alg)
		if head.Checksum != v {
			t.Fatalf("%s kept %q", alg, head.Checksum)
		}
		_, err = h.s.Put(ctx, PutInput{Account: acct, Bucket: "bkt", Key: alg, Body: strings.NewReader("123456780"), Size: 9,
			Checksum: &Checksum{Algorithm: alg, Value: v}})
		wantIs(t, err, ErrBadDigest)
		trailer := func() string { return v }
		if _, err := h.s.Put(ctx, PutInput{Account: acct, Bucket: "bkt", Key: alg, Body: strings.NewReader("123456789"), Size: 9,
			Checksum: &Checksum{Algorithm: alg, Trailer: trailer}}); err != nil {
			t.Fatalf("%s in a trailer: %v", alg, err)
		}
	}
	_, err := h.s.Put(ctx, PutInput{Account: acct, Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1, Checksum: &Checksum{Algorithm: "MD4"}})
	wantIs(t, err, ErrBadDigest)
	id, _ := h.s.CreateUpload(ctx, acct, "bkt", "mp", ObjectMeta{})
	_, err = h.s.PutPart(ctx, PartInput{Account: acct, Bucket: "bkt", Key: "mp", UploadID: id, Number: 1, Body: strings.NewReader("123456789"), Size: 9,
		Checksum: &Checksum{Algorithm: "CRC32", Value: want["CRC32C"]}})
	wantIs(t, err, ErrBadDigest)
	if files := h.dataFiles(); len(files) != len(want) {
		t.Fatalf("files: %v", files)
	}
}
