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
	"time"
)

// uploadRecord is the value of s3/uploads/<bucket>/<upload id>.
type uploadRecord struct {
	Key       string `json:"key"`
	Initiated int64  `json:"initiated"`
	ObjectMeta
}

// partRecord is the value of s3/parts/<upload id>/<nnnnn>.
type partRecord struct {
	File     fileRef `json:"file"`
	ETag     string  `json:"etag"` // unquoted MD5 hex
	Modified int64   `json:"mtime"`

	key    string // the metadata key (not stored)
	number int    // the part number (not stored)
}

// Upload describes a multipart upload in progress.
type Upload struct {
	Bucket, Key, ID string
	Initiated       time.Time
	ObjectMeta
}

// Part describes an uploaded part.
type Part struct {
	Number   int
	Size     int64
	ETag     string // quoted
	Modified time.Time
}

// CompletedPart is a part named in CompleteUpload.
type CompletedPart struct {
	Number int
	ETag   string // quoted or not
}

func uploadKey(bucket, id string) string { return keyUploads + bucket + "/" + id }
func partKey(id string, n int) string    { return fmt.Sprintf("%s%s/%05d", keyParts, id, n) }

// CreateUpload starts a multipart upload of bucket/key and returns its id.
func (s *Store) CreateUpload(ctx context.Context, account, bucket, key string, meta ObjectMeta) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, brev, err := s.bucket(ctx, account, bucket)
	if err != nil {
		return "", err
	}
	id := newID()
	rec := uploadRecord{Key: key, Initiated: s.cfg.Now().UnixNano(), ObjectMeta: meta}
	err = s.commit(ctx, map[string]uint64{keyBuckets + bucket: brev}, map[string][]byte{uploadKey(bucket, id): mustJSON(rec)}, nil)
	if errors.Is(err, errConflict) {
		return "", fmt.Errorf("%w: %s", ErrNoSuchBucket, bucket)
	}
	return id, err
}

// upload reads an upload of bucket/key in a bucket the account owns.
func (s *Store) upload(ctx context.Context, account, bucket, key, id string) (uploadRecord, uint64, error) {
	var rec uploadRecord
	if _, _, err := s.bucket(ctx, account, bucket); err != nil {
		return rec, 0, err
	}
	if strings.Contains(id, "/") {
		return rec, 0, fmt.Errorf("%w: %s", ErrNoSuchUpload, id)
	}
	rev, err := s.getJSON(ctx, uploadKey(bucket, id), &rec)
	if err != nil {
		return rec, 0, err
	}
	if rev == 0 || rec.Key != key {
		return rec, 0, fmt.Errorf("%w: %s", ErrNoSuchUpload, id)
	}
	return rec, rev, nil
}

// PartInput is an UploadPart.
type PartInput struct {
	Account, Bucket, Key, UploadID string
	Number                         int
	Body                           io.Reader
	Size                           int64 // -1 if unknown
	ContentMD5                     []byte
	SHA256                         string
	Checksum                       *Checksum // verified, not kept
}

// PutPart stores part Number of an upload (replacing a part of the same
// number) and returns it once durable.
func (s *Store) PutPart(ctx context.Context, in PartInput) (Part, error) {
	if in.Number < 1 || in.Number > MaxParts {
		return Part{}, ErrInvalidPartNumber
	}
	if _, _, err := s.upload(ctx, in.Account, in.Bucket, in.Key, in.UploadID); err != nil {
		return Part{}, err
	}
	got, err := s.receive(ctx, body{r: in.Body, size: in.Size, max: MaxObjectSize, md5: in.ContentMD5, sha256: in.SHA256, checksum: in.Checksum})
	if err != nil {
		return Part{}, err
	}
	rec := partRecord{File: got.file, ETag: hex.EncodeToString(got.md5[:]), Modified: s.cfg.Now().UnixNano()}
	pk := partKey(in.UploadID, in.Number)
	var release []string
	s.mu.RLock()
	err = retry(func() error {
		up, urev, err := s.upload(ctx, in.Account, in.Bucket, in.Key, in.UploadID)
		if err != nil {
			return err
		}
		var old partRecord
		prev, err := s.getJSON(ctx, pk, &old)
		if err != nil {
			return err
		}
		// The upload's record is rewritten so that its revision moves:
		// CompleteUpload and AbortUpload, which compare it, see every part
		// committed after they listed the parts.
		puts := map[string][]byte{pk: mustJSON(rec), uploadKey(in.Bucket, in.UploadID): mustJSON(up), keyFiles + got.file.ID: []byte("part " + in.UploadID)}
		var deletes []string
		release = release[:0]
		if prev != 0 {
			deletes = append(deletes, keyFiles+old.File.ID)
			release = append(release, old.File.ID)
		}
		return s.commit(ctx, map[string]uint64{uploadKey(in.Bucket, in.UploadID): urev, pk: prev}, puts, deletes)
	})
	s.mu.RUnlock()
	if err != nil {
		s.removeFiles([]string{got.file.ID})
		return Part{}, err
	}
	s.removeFiles(release)
	return Part{Number: in.Number, Size: got.file.Size, ETag: `"` + rec.ETag + `"`, Modified: time.Unix(0, rec.Modified).UTC()}, nil
}

// parts lists an upload's parts in number order.
func (s *Store) parts(ctx context.Context, id string) ([]partRecord, error) {
	return s.someParts(ctx, id, MaxParts)
}

// someParts lists the first max of an upload's parts in number order.
func (s *Store) someParts(ctx context.Context, id string, max int) ([]partRecord, error) {
	var out []partRecord
	prefix := keyParts + id + "/"
	err := s.meta.ScanFrom(ctx, prefix, "", func(k string, v []byte, _ uint64) error {
		if len(out) == max {
			return errStop
		}
		var p partRecord
		if err := jsonUnmarshal(k, v, &p); err != nil {
			return err
		}
		n, err := partNumber(prefix, k)
		if err != nil {
			return err
		}
		p.key, p.number = k, n
		out = append(out, p)
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

// ListParts lists the parts of an upload numbered above marker, at most
// max (default and at most 1000), and whether more follow.
func (s *Store) ListParts(ctx context.Context, account, bucket, key, id string, marker, max int) (Upload, []Part, bool, error) {
	up, _, err := s.upload(ctx, account, bucket, key, id)
	if err != nil {
		return Upload{}, nil, false, err
	}
	if max <= 0 || max > 1000 {
		max = 1000
	}
	recs, err := s.parts(ctx, id)
	if err != nil {
		return Upload{}, nil, false, err
	}
	var out []Part
	for _, p := range recs {
		if p.number <= marker {
			continue
		}
		if len(out) == max {
			return up.info(bucket, id), out, true, nil
		}
		out = append(out, Part{Number: p.number, Size: p.File.Size, ETag: `"` + p.ETag + `"`, Modified: time.Unix(0, p.Modified).UTC()})
	}
	return up.info(bucket, id), out, false, nil
}

func (u uploadRecord) info(bucket, id string) Upload {
	return Upload{Bucket: bucket, Key: u.Key, ID: id, Initiated: time.Unix(0, u.Initiated).UTC(), ObjectMeta: u.ObjectMeta}
}

// ListUploads lists the uploads in progress in a bucket whose keys begin
// with prefix, by key then initiation.
func (s *Store) ListUploads(ctx context.Context, account, bucket, prefix string) ([]Upload, error) {
	if _, _, err := s.bucket(ctx, account, bucket); err != nil {
		return nil, err
	}
	var out []Upload
	base := keyUploads + bucket + "/"
	err := s.meta.ScanFrom(ctx, base, "", func(k string, v []byte, _ uint64) error {
		var u uploadRecord
		if err := jsonUnmarshal(k, v, &u); err != nil {
			return err
		}
		if strings.HasPrefix(u.Key, prefix) {
			out = append(out, u.info(bucket, k[len(base):]))
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Key < out[j].Key || out[i].Key == out[j].Key && out[i].Initiated.Before(out[j].Initiated)
	})
	return out, err
}

// CompleteUpload assembles the named parts, in ascending part number
// order, into the object bucket/key (replacing any object there) and ends
// the upload; parts not named are discarded. Every part but the last must
// be at least the minimum part size. The parts' files become the object's
// files: nothing is copied.
func (s *Store) CompleteUpload(ctx context.Context, account, bucket, key, id string, parts []CompletedPart) (ObjectInfo, error) {
	if len(parts) == 0 {
		return ObjectInfo{}, ErrMalformedCompleteReq
	}
	for i := 1; i < len(parts); i++ {
		if parts[i].Number <= parts[i-1].Number {
			return ObjectInfo{}, ErrInvalidPartOrder
		}
	}
	var rec objectRecord
	more := func(t *change) error {
		up, urev, err := s.upload(ctx, account, bucket, key, id)
		if err != nil {
			return err
		}
		have, err := s.parts(ctx, id)
		if err != nil {
			return err
		}
		byNum := map[int]partRecord{}
		for _, p := range have {
			byNum[p.number] = p
		}
		t.compare[uploadKey(bucket, id)] = urev
		t.deletes = append(t.deletes, uploadKey(bucket, id))
		sums := md5.New()
		var files []fileRef
		rec.Size = 0
		for i, cp := range parts {
			p, ok := byNum[cp.Number]
			if !ok || strings.Trim(cp.ETag, `"`) != p.ETag {
				return fmt.Errorf("%w: part %d", ErrInvalidPart, cp.Number)
			}
			if i < len(parts)-1 && p.File.Size < s.cfg.MinPartSize {
				return fmt.Errorf("%w: part %d is %d bytes (at least %d)", ErrEntityTooSmall, cp.Number, p.File.Size, s.cfg.MinPartSize)
			}
			b, _ := hex.DecodeString(p.ETag)
			sums.Write(b)
			files = append(files, p.File)
			rec.Size += p.File.Size
		}
		if rec.Size > MaxMultipartSize {
			return ErrEntityTooLarge
		}
		// The parts the object takes (numbers of existing parts: 1 to
		// MaxParts).
		keep := make([]byte, parts[len(parts)-1].Number/8+1)
		for _, cp := range parts {
			keep[cp.Number/8] |= 1 << (cp.Number % 8)
		}
		rec.setFiles(t, files)
		endUpload(t, id, have, releaseRecord{Upload: id, Keep: keep})
		rec.ETag = fmt.Sprintf("%s-%d", hex.EncodeToString(sums.Sum(nil)), len(parts))
		rec.Parts, rec.Modified, rec.ObjectMeta = len(parts), s.cfg.Now().UnixNano(), up.ObjectMeta
		return nil
	}
	if err := s.install(ctx, account, bucket, key, &rec, nil, more); err != nil {
		return ObjectInfo{}, err
	}
	return rec.info(bucket, key), nil
}

// inlineParts is the most parts whose keys the commit ending an upload
// deletes itself; an upload with more leaves them to a release record.
const inlineParts = inlineFiles / 2

// endUpload adds to t the end of an upload whose parts are have (or, when
// more than inlineParts, at least their first inlineParts+1): the part
// keys, with the keys and files of the parts r.Keep does not keep, go in
// the commit when few, else through the release record r.
func endUpload(t *change, id string, have []partRecord, r releaseRecord) {
	if len(have) > inlineParts {
		t.release(r)
		return
	}
	for _, p := range have {
		t.deletes = append(t.deletes, p.key)
		if !r.kept(p.number) {
			t.deletes = append(t.deletes, keyFiles+p.File.ID)
			t.remove = append(t.remove, p.File.ID)
		}
	}
}

// AbortUpload ends an upload and discards its parts.
func (s *Store) AbortUpload(ctx context.Context, account, bucket, key, id string) error {
	var done *change
	err := retry(func() error {
		_, urev, err := s.upload(ctx, account, bucket, key, id)
		if err != nil {
			return err
		}
		have, err := s.someParts(ctx, id, inlineParts+1)
		if err != nil {
			return err
		}
		t := newChange()
		t.compare[uploadKey(bucket, id)] = urev
		t.deletes = append(t.deletes, uploadKey(bucket, id))
		endUpload(t, id, have, releaseRecord{Upload: id})
		if err := s.apply(ctx, t); err != nil {
			return err
		}
		done = t
		return nil
	})
	if err != nil {
		return err
	}
	s.finish(ctx, done)
	return nil
}
