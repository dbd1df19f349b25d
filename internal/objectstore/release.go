package objectstore

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file keeps every commit bounded (see "Bounded commits" in the package
// comment): the file lists of objects with many files, the change a commit
// builds, the release records that commit leaves behind, and their
// collection in bounded batches.

// Bounds of one commit and of one value.
const (
	// inlineFiles is the most files an object record lists itself, and the
	// most file keys a commit deletes along with what it decides; more are
	// released through a release record.
	inlineFiles = 32
	// listChunk is the most files one chunk of a file list holds
	// (listChunk*listEntry bytes: 24 KB).
	listChunk = 1000
	// listEntry is one file in a chunk: its 16-byte id, then its size
	// (8 bytes, big-endian).
	listEntry = 24
	// batchOps is the most deletes one collection commit makes (etcd
	// allows 128 operations).
	batchOps = 100
)

// listRef names the file list of an object with more than inlineFiles
// files: chunks s3/lists/<id>/<nnnnn> in order, n files in all.
type listRef struct {
	ID string `json:"id"`
	N  int    `json:"n"`
}

func listKey(id string, chunk int) string { return fmt.Sprintf("%s%s/%05d", keyLists, id, chunk) }

// encodeChunk packs files (ids of 32 hex digits, as newID makes them).
func encodeChunk(files []fileRef) []byte {
	b := make([]byte, 0, len(files)*listEntry)
	for _, f := range files {
		id, err := hex.DecodeString(f.ID)
		if err != nil || len(id) != 16 {
			panic("objectstore: file id " + f.ID)
		}
		b = append(b, id...)
		b = binary.BigEndian.AppendUint64(b, uint64(f.Size))
	}
	return b
}

func decodeChunk(key string, b []byte) ([]fileRef, error) {
	if len(b)%listEntry != 0 {
		return nil, fmt.Errorf("objectstore: %s: %d bytes, not a file list", key, len(b))
	}
	out := make([]fileRef, 0, len(b)/listEntry)
	for ; len(b) > 0; b = b[listEntry:] {
		out = append(out, fileRef{ID: hex.EncodeToString(b[:16]), Size: int64(binary.BigEndian.Uint64(b[16:listEntry]))})
	}
	return out, nil
}

// setFiles makes files the record's: inline when few, else in a new list
// whose chunks t puts.
func (r *objectRecord) setFiles(t *change, files []fileRef) {
	r.Files, r.List = nil, nil
	if len(files) <= inlineFiles {
		r.Files = files
		return
	}
	r.List = &listRef{ID: newID(), N: len(files)}
	for c := 0; c*listChunk < len(files); c++ {
		t.puts[listKey(r.List.ID, c)] = encodeChunk(files[c*listChunk : min((c+1)*listChunk, len(files))])
	}
}

// errListGone: an object's file list was (partly) deleted after its record
// was read: the object was replaced or deleted meanwhile.
var errListGone = errors.New("objectstore: the object's file list is gone")

// files returns an object's data files, in order.
func (s *Store) files(ctx context.Context, r objectRecord) ([]fileRef, error) {
	if r.List == nil {
		return r.Files, nil
	}
	out := make([]fileRef, 0, r.List.N)
	err := s.meta.ScanFrom(ctx, keyLists+r.List.ID+"/", "", func(k string, v []byte, _ uint64) error {
		refs, err := decodeChunk(k, v)
		out = append(out, refs...)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(out) != r.List.N {
		return nil, errListGone
	}
	return out, nil
}

// releaseRecord is the value of s3/release/<id>: what a commit stopped
// referencing and left for collection after it. One kind a record.
type releaseRecord struct {
	// Files: data files (their keys, then the files).
	Files []string `json:"files,omitempty"`
	// List: an object's file list (its files, then its chunks).
	List string `json:"list,omitempty"`
	// Upload: the part keys of an ended upload, with the files of the
	// parts whose number is not set in Keep (a bitmap: bit n%8 of byte
	// n/8 for part n), which a completed object took over.
	Upload string `json:"upload,omitempty"`
	Keep   []byte `json:"keep,omitempty"`
	// Bucket: the uploads left in a deleted bucket, each as Upload (only
	// while no bucket of the name exists).
	Bucket string `json:"bucket,omitempty"`
}

func (r releaseRecord) kept(n int) bool { return n/8 < len(r.Keep) && r.Keep[n/8]&(1<<(n%8)) != 0 }

// change is one commit being built: its compare-and-swap, and what to do
// once it is committed (remove files it stopped referencing, collect the
// release records it put).
type change struct {
	compare  map[string]uint64
	puts     map[string][]byte
	deletes  []string
	remove   []string
	releases map[string]releaseRecord
}

func newChange() *change {
	return &change{compare: map[string]uint64{}, puts: map[string][]byte{}, releases: map[string]releaseRecord{}}
}

// release puts a release record, collected once the commit is done.
func (t *change) release(r releaseRecord) {
	k := keyRelease + newID()
	t.puts[k] = mustJSON(r)
	t.releases[k] = r
}

// drop stops referencing an object's files: their keys go in the commit
// when they are few, else through a release record.
func (t *change) drop(old objectRecord) {
	switch {
	case old.List != nil:
		t.release(releaseRecord{List: old.List.ID})
	case len(old.Files) > inlineFiles: // written before file lists
		ids := make([]string, len(old.Files))
		for i, f := range old.Files {
			ids[i] = f.ID
		}
		t.release(releaseRecord{Files: ids})
	default:
		for _, f := range old.Files {
			t.deletes = append(t.deletes, keyFiles+f.ID)
			t.remove = append(t.remove, f.ID)
		}
	}
}

// apply commits t (errConflict if it lost a race).
func (s *Store) apply(ctx context.Context, t *change) error {
	return s.commit(ctx, t.compare, t.puts, t.deletes)
}

// finish does what a committed change left to do. It does not fail: what
// it cannot do now stays recorded, and the next Open does it.
func (s *Store) finish(ctx context.Context, t *change) {
	s.removeFiles(t.remove)
	ctx = context.WithoutCancel(ctx) // the change is decided: clean up even if the caller left
	for k, r := range t.releases {
		if err := s.collect(ctx, k, r); err != nil {
			s.log.Warn("objectstore: collecting released metadata (the next start retries)", "release", k, "err", err)
		}
	}
}

// collect does what the release record k says, in commits of at most
// batchOps deletes, each leaving the metadata consistent (a file's key goes
// with or before what names the file), then deletes k. It is idempotent: a
// crash part way leaves k, and collecting it again finishes the work.
func (s *Store) collect(ctx context.Context, k string, r releaseRecord) error {
	var err error
	switch {
	case r.Files != nil:
		err = s.dropFiles(ctx, r.Files, nil)
	case r.List != "":
		err = s.collectList(ctx, r.List)
	case r.Upload != "":
		err = s.collectUpload(ctx, r.Upload, r)
	case r.Bucket != "":
		err = s.collectBucket(ctx, r.Bucket)
	}
	if err != nil {
		return err
	}
	return s.commit(ctx, nil, nil, []string{k})
}

// dropFiles deletes the keys of files, then the keys in after, in batches
// (so never one of after before a file's key), then removes the files.
func (s *Store) dropFiles(ctx context.Context, ids, after []string) error {
	keys := make([]string, 0, len(ids)+len(after))
	for _, id := range ids {
		keys = append(keys, keyFiles+id)
	}
	keys = append(keys, after...)
	for len(keys) > 0 {
		n := min(len(keys), batchOps)
		if err := s.commit(ctx, nil, nil, keys[:n]); err != nil {
			return err
		}
		keys = keys[n:]
	}
	s.removeFiles(ids)
	return nil
}

// firstKeys returns up to n keys and values under prefix.
func (s *Store) firstKeys(ctx context.Context, prefix string, n int) ([]string, [][]byte, error) {
	var keys []string
	var vals [][]byte
	err := s.meta.ScanFrom(ctx, prefix, "", func(k string, v []byte, _ uint64) error {
		if len(keys) == n {
			return errStop
		}
		keys, vals = append(keys, k), append(vals, v)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, nil, err
	}
	return keys, vals, nil
}

// collectList releases a file list chunk by chunk: the chunk's files, then
// the chunk.
func (s *Store) collectList(ctx context.Context, id string) error {
	for {
		keys, vals, err := s.firstKeys(ctx, keyLists+id+"/", 1)
		if err != nil || len(keys) == 0 {
			return err
		}
		refs, err := decodeChunk(keys[0], vals[0])
		if err != nil {
			return err
		}
		ids := make([]string, len(refs))
		for i, f := range refs {
			ids[i] = f.ID
		}
		if err := s.dropFiles(ctx, ids, keys); err != nil {
			return err
		}
	}
}

// collectUpload deletes an ended upload's part keys, with the keys and
// files of the parts r does not keep: each part's keys in one commit.
func (s *Store) collectUpload(ctx context.Context, id string, r releaseRecord) error {
	prefix := keyParts + id + "/"
	for {
		keys, vals, err := s.firstKeys(ctx, prefix, batchOps/2)
		if err != nil || len(keys) == 0 {
			return err
		}
		var deletes, remove []string
		for i, k := range keys {
			deletes = append(deletes, k)
			n, _ := partNumber(prefix, k)
			if r.kept(n) {
				continue
			}
			var p partRecord
			if err := jsonUnmarshal(k, vals[i], &p); err != nil {
				return err
			}
			deletes = append(deletes, keyFiles+p.File.ID)
			remove = append(remove, p.File.ID)
		}
		if err := s.commit(ctx, nil, nil, deletes); err != nil {
			return err
		}
		s.removeFiles(remove)
	}
}

// collectBucket ends every upload left under a bucket name no bucket has
// (any more): its parts, then its record. Callers exclude bucket creation
// (Store.mu, or Open).
func (s *Store) collectBucket(ctx context.Context, bucket string) error {
	rev, err := s.getJSON(ctx, keyBuckets+bucket, &bucketRecord{})
	if err != nil || rev != 0 {
		return err // recreated: what was left was collected before (CreateBucket)
	}
	prefix := keyUploads + bucket + "/"
	for {
		keys, _, err := s.firstKeys(ctx, prefix, batchOps)
		if err != nil || len(keys) == 0 {
			return err
		}
		for _, k := range keys {
			if err := s.collectUpload(ctx, k[len(prefix):], releaseRecord{}); err != nil {
				return err
			}
		}
		if err := s.commit(ctx, nil, nil, keys); err != nil {
			return err
		}
	}
}

// collectReleased collects every release record (at Open: a crash, or a
// failure after a commit, left them).
func (s *Store) collectReleased(ctx context.Context) (int, error) {
	// Read them all before collecting: scans are not nested with commits.
	type rel struct {
		key string
		r   releaseRecord
	}
	var rels []rel
	err := s.meta.ScanFrom(ctx, keyRelease, "", func(k string, v []byte, _ uint64) error {
		var r releaseRecord
		if err := jsonUnmarshal(k, v, &r); err != nil {
			return err
		}
		rels = append(rels, rel{k, r})
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, x := range rels {
		if err := s.collect(ctx, x.key, x.r); err != nil {
			return 0, err
		}
	}
	return len(rels), nil
}

// partNumber parses the number of a part key under prefix.
func partNumber(prefix, k string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(k, prefix))
	if err != nil || !strings.HasPrefix(k, prefix) {
		return 0, fmt.Errorf("objectstore: %s: bad part number", k)
	}
	return n, nil
}
