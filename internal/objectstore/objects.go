package objectstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/rheos/rheos/internal/vfs"
)

// checkKey checks an object key: 1 to 1024 bytes of UTF-8.
func checkKey(key string) error {
	switch {
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("%w: %d bytes (at most %d)", ErrKeyTooLong, len(key), MaxKeyBytes)
	case key == "" || !utf8.ValidString(key):
		return ErrInvalidKey
	}
	return nil
}

// PutInput is a PutObject.
type PutInput struct {
	Account, Bucket, Key string
	// Body is read to its end (or Size bytes).
	Body io.Reader
	// Size is the body's length, or -1 if unknown (then at most
	// MaxObjectSize bytes are accepted).
	Size int64
	ObjectMeta
	// ContentMD5, if set, is the MD5 the body must have (ErrBadDigest).
	ContentMD5 []byte
	// SHA256, if set, is the hex SHA-256 the body must have
	// (ErrContentSHA256): the signed payload hash of a streamed body.
	SHA256 string
	// Checksum, if set, is an additional checksum the body must have
	// (ErrBadDigest); the object keeps it (ObjectInfo.Checksum).
	Checksum *Checksum
	// IfNoneMatch stores the object only if the key has none (S3's
	// conditional write, If-None-Match: *): ErrObjectExists otherwise,
	// decided in the commit, so of racing writers exactly one wins.
	IfNoneMatch bool
}

// PutObject stores body (size bytes, or -1 if unknown) under bucket/key
// for account, replacing any object there, and returns its quoted ETag
// once it is durable. It is the in-process form of S3's PutObject.
func (s *Store) PutObject(ctx context.Context, account, bucket, key string, body io.Reader, size int64, contentType string) (etag string, err error) {
	info, err := s.Put(ctx, PutInput{Account: account, Bucket: bucket, Key: key, Body: body, Size: size, ObjectMeta: ObjectMeta{ContentType: contentType}})
	return info.ETag, err
}

// Put stores an object (see PutInput) and returns it once durable.
func (s *Store) Put(ctx context.Context, in PutInput) (ObjectInfo, error) {
	if err := checkKey(in.Key); err != nil {
		return ObjectInfo{}, err
	}
	// Fail before receiving a body that could not be stored.
	if _, _, err := s.bucket(ctx, in.Account, in.Bucket); err != nil {
		return ObjectInfo{}, err
	}
	got, err := s.receive(ctx, body{r: in.Body, size: in.Size, max: MaxObjectSize, md5: in.ContentMD5, sha256: in.SHA256, checksum: in.Checksum})
	if err != nil {
		return ObjectInfo{}, err
	}
	rec := objectRecord{Size: got.file.Size, ETag: hex.EncodeToString(got.md5[:]), Modified: s.cfg.Now().UnixNano(),
		Files: []fileRef{got.file}, Checksum: got.checksum, ObjectMeta: in.ObjectMeta}
	var absent func(*change) error
	if in.IfNoneMatch {
		// install compares the object key at the revision it read before
		// this check: an object created after the check fails the commit,
		// and the retry sees it here.
		absent = func(*change) error {
			var cur objectRecord
			rev, err := s.getJSON(ctx, objectKey(in.Bucket, in.Key), &cur)
			if err == nil && rev != 0 {
				err = ErrObjectExists
			}
			return err
		}
	}
	if err := s.install(ctx, in.Account, in.Bucket, in.Key, &rec, []string{got.file.ID}, absent); err != nil {
		s.removeFiles([]string{got.file.ID})
		return ObjectInfo{}, err
	}
	return rec.info(in.Bucket, in.Key), nil
}

// install commits *rec (which more may fill in) as bucket/key in one
// bounded commit: the files named in keyed become referenced (the others
// rec names are already), those of the object it replaces are released.
// more, if set, runs before each try (and may refuse) and adds to the
// commit. Lost races are retried. On error nothing is committed and rec's
// files are the caller's to remove.
func (s *Store) install(ctx context.Context, account, bucket, key string, rec *objectRecord, keyed []string, more func(*change) error) error {
	var done *change
	s.mu.RLock()
	err := retry(func() error {
		_, brev, err := s.bucket(ctx, account, bucket)
		if err != nil {
			return err
		}
		var old objectRecord
		orev, err := s.getJSON(ctx, objectKey(bucket, key), &old)
		if err != nil {
			return err
		}
		t := newChange()
		if more != nil {
			if err := more(t); err != nil {
				return err
			}
		}
		t.compare[keyBuckets+bucket], t.compare[objectKey(bucket, key)] = brev, orev
		t.puts[objectKey(bucket, key)] = mustJSON(*rec)
		for _, id := range keyed {
			t.puts[keyFiles+id] = []byte(bucket + "/" + key)
		}
		if orev != 0 {
			t.drop(old)
		}
		if err := s.apply(ctx, t); err != nil {
			return err
		}
		done = t
		return nil
	})
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	s.finish(ctx, done)
	return nil
}

// object reads an object's record from a bucket the account owns.
func (s *Store) object(ctx context.Context, account, bucket, key string) (objectRecord, error) {
	var rec objectRecord
	if _, _, err := s.bucket(ctx, account, bucket); err != nil {
		return rec, err
	}
	if err := checkKey(key); err != nil {
		return rec, fmt.Errorf("%w: %s", ErrNoSuchKey, key)
	}
	rev, err := s.getJSON(ctx, objectKey(bucket, key), &rec)
	if err != nil {
		return rec, err
	}
	if rev == 0 {
		return rec, fmt.Errorf("%w: %s", ErrNoSuchKey, key)
	}
	return rec, nil
}

// HeadObject describes an object.
func (s *Store) HeadObject(ctx context.Context, account, bucket, key string) (ObjectInfo, error) {
	rec, err := s.object(ctx, account, bucket, key)
	if err != nil {
		return ObjectInfo{}, err
	}
	return rec.info(bucket, key), nil
}

// Object is an open object: its description and its bytes as they were
// when it was opened, whatever is written under its key meanwhile. Close
// it. It is safe for concurrent readers.
type Object struct {
	Info  ObjectInfo
	files []vfs.File
	sizes []int64
}

// OpenObject opens an object for reading.
func (s *Store) OpenObject(ctx context.Context, account, bucket, key string) (*Object, error) {
	for attempt := 0; ; attempt++ {
		rec, err := s.object(ctx, account, bucket, key)
		if err != nil {
			return nil, err
		}
		refs, err := s.files(ctx, rec)
		var files []vfs.File
		if err == nil {
			files, err = s.openFiles(refs)
		}
		if (vfs.IsNotExist(err) || errors.Is(err, errListGone)) && attempt < 10 {
			continue // replaced between the read and the open
		}
		if err != nil {
			return nil, fmt.Errorf("objectstore: %s/%s: %w", bucket, key, err)
		}
		o := &Object{Info: rec.info(bucket, key), files: files}
		for _, f := range refs {
			o.sizes = append(o.sizes, f.Size)
		}
		return o, nil
	}
}

// Range returns a reader of n bytes from offset off (clipped to the
// object). It reads from disk as it is read.
func (o *Object) Range(off, n int64) io.Reader {
	var rs []io.Reader
	for i, f := range o.files {
		size := o.sizes[i]
		if n <= 0 {
			break
		}
		if off >= size {
			off -= size
			continue
		}
		m := min(size-off, n)
		rs = append(rs, io.NewSectionReader(f, off, m))
		n -= m
		off = 0
	}
	return io.MultiReader(rs...)
}

// PartRange returns where part n (1-based) of a multipart object lies;
// a single-part object is its own part 1. ok is false for a part it lacks.
func (o *Object) PartRange(n int) (off, size int64, ok bool) {
	if o.Info.Parts == 0 {
		return 0, o.Info.Size, n == 1
	}
	if n < 1 || n > len(o.sizes) {
		return 0, 0, false
	}
	for _, sz := range o.sizes[:n-1] {
		off += sz
	}
	return off, o.sizes[n-1], true
}

// Close closes the object's files.
func (o *Object) Close() error {
	closeAll(o.files)
	o.files = nil
	return nil
}

// GetObject opens an object and returns a reader of all of it (Close it)
// and its description. It is the in-process form of S3's GetObject.
func (s *Store) GetObject(ctx context.Context, account, bucket, key string) (io.ReadCloser, ObjectInfo, error) {
	o, err := s.OpenObject(ctx, account, bucket, key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	return objectReader{o.Range(0, o.Info.Size), o}, o.Info, nil
}

type objectReader struct {
	io.Reader
	o *Object
}

func (r objectReader) Close() error { return r.o.Close() }

// DeleteObject deletes an object; a missing key is not an error (S3).
func (s *Store) DeleteObject(ctx context.Context, account, bucket, key string) error {
	if _, _, err := s.bucket(ctx, account, bucket); err != nil {
		return err
	}
	if checkKey(key) != nil {
		return nil
	}
	var done *change
	s.mu.RLock()
	err := retry(func() error {
		var rec objectRecord
		rev, err := s.getJSON(ctx, objectKey(bucket, key), &rec)
		if err != nil || rev == 0 {
			return err
		}
		t := newChange()
		t.compare[objectKey(bucket, key)] = rev
		t.deletes = append(t.deletes, objectKey(bucket, key))
		t.drop(rec)
		if err := s.apply(ctx, t); err != nil {
			return err
		}
		done = t
		return nil
	})
	s.mu.RUnlock()
	if err != nil || done == nil {
		return err
	}
	s.finish(ctx, done)
	return nil
}

// CopyObject copies srcBucket/srcKey to bucket/key for account (the
// account must own both buckets). With meta nil the source's metadata is
// kept (S3's COPY directive), else replaced by *meta (REPLACE). The copy is
// a new single-part object.
func (s *Store) CopyObject(ctx context.Context, account, srcBucket, srcKey, bucket, key string, meta *ObjectMeta) (ObjectInfo, error) {
	o, err := s.OpenObject(ctx, account, srcBucket, srcKey)
	if err != nil {
		return ObjectInfo{}, err
	}
	defer o.Close()
	m := o.Info.ObjectMeta
	if meta != nil {
		m = *meta
	}
	return s.Put(ctx, PutInput{Account: account, Bucket: bucket, Key: key, Body: o.Range(0, o.Info.Size), Size: o.Info.Size, ObjectMeta: m})
}

// ListInput selects a page of a bucket's listing.
type ListInput struct {
	// Prefix limits the listing to keys that begin with it.
	Prefix string
	// Delimiter, if set, rolls keys up to their common prefix: the
	// prefix plus everything up to the first Delimiter after it.
	Delimiter string
	// After skips every key and common prefix that sorts at or before it
	// (S3's StartAfter and Marker, and a continuation token's resume
	// point: a page's Last).
	After string
	// MaxKeys bounds the keys and common prefixes returned. Default 1000;
	// at most 1000.
	MaxKeys int
}

// ListResult is a page of a listing, in key order.
type ListResult struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	// Truncated is set when more follow; List with After = Last for them.
	Truncated bool
	// Last is the last key or common prefix of the page.
	Last string
}

// ListObjects lists a page of the bucket's objects (S3's ListObjectsV2 and
// ListObjects).
func (s *Store) ListObjects(ctx context.Context, account, bucket string, in ListInput) (ListResult, error) {
	var res ListResult
	if _, _, err := s.bucket(ctx, account, bucket); err != nil {
		return res, err
	}
	max := in.MaxKeys
	if max <= 0 || max > 1000 {
		max = 1000
	}
	base := keyObjects + bucket + "/"
	from := base + in.Prefix
	if in.After > in.Prefix {
		from = base + in.After
	}
	count := 0
	for {
		seek := ""
		err := s.meta.ScanFrom(ctx, base+in.Prefix, from, func(k string, v []byte, _ uint64) error {
			key := k[len(base):]
			if key <= in.After {
				return nil
			}
			if in.Delimiter != "" {
				if i := strings.Index(key[len(in.Prefix):], in.Delimiter); i >= 0 {
					cp := key[:len(in.Prefix)+i+len(in.Delimiter)]
					if cp > in.After {
						if count == max {
							res.Truncated = true
							return errStop
						}
						res.CommonPrefixes = append(res.CommonPrefixes, cp)
						res.Last = cp
						count++
					}
					// Every key under cp is rolled into it: resume past
					// them (keys are UTF-8, which never holds 0xff).
					seek = base + cp + "\xff"
					return errStop
				}
			}
			if count == max {
				res.Truncated = true
				return errStop
			}
			var rec objectRecord
			if err := jsonUnmarshal(k, v, &rec); err != nil {
				return err
			}
			res.Objects = append(res.Objects, rec.info(bucket, key))
			res.Last = key
			count++
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return ListResult{}, err
		}
		if seek == "" || res.Truncated {
			return res, nil
		}
		from = seek
	}
}
