package objectstore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// ValidBucketName reports whether name follows S3's naming rules for
// general purpose buckets: 3 to 63 characters of lower-case letters,
// digits, dots and hyphens, beginning and ending with a letter or digit,
// no two adjacent dots, not shaped like an IP address, and none of the
// reserved prefixes and suffixes.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !alnum(name[0]) || !alnum(name[len(name)-1]) || strings.Contains(name, "..") {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, sfx) {
			return false
		}
	}
	return true
}

// CreateBucket creates a bucket owned by account in region ("" for the
// store's default). A name another account holds is ErrBucketAlreadyExists;
// one the account holds already, ErrBucketAlreadyOwned.
func (s *Store) CreateBucket(ctx context.Context, account, name, region string) error {
	if !ValidBucketName(name) {
		return fmt.Errorf("%w: %q", ErrInvalidBucketName, name)
	}
	if region == "" {
		region = s.cfg.Region
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var b bucketRecord
	rev, err := s.getJSON(ctx, keyBuckets+name, &b)
	switch {
	case err != nil:
		return err
	case rev != 0 && b.Account == account:
		return fmt.Errorf("%w: %s", ErrBucketAlreadyOwned, name)
	case rev != 0:
		return fmt.Errorf("%w: %s", ErrBucketAlreadyExists, name)
	}
	// Uploads a deleted bucket of the name left (its collection failed)
	// must not appear in the new one.
	if err := s.collectBucket(ctx, name); err != nil {
		return err
	}
	rec := bucketRecord{Account: account, Region: region, Created: s.cfg.Now().UnixNano()}
	if err := s.commit(ctx, map[string]uint64{keyBuckets + name: 0}, map[string][]byte{keyBuckets + name: mustJSON(rec)}, nil); err != nil {
		if errors.Is(err, errConflict) { // mu is held: only another server could race
			return fmt.Errorf("%w: %s", ErrBucketAlreadyExists, name)
		}
		return err
	}
	return nil
}

// bucket reads a bucket the account owns, with its revision.
func (s *Store) bucket(ctx context.Context, account, name string) (bucketRecord, uint64, error) {
	var b bucketRecord
	rev, err := s.getJSON(ctx, keyBuckets+name, &b)
	switch {
	case err != nil:
		return b, 0, err
	case rev == 0:
		return b, 0, fmt.Errorf("%w: %s", ErrNoSuchBucket, name)
	case b.Account != account:
		return b, 0, fmt.Errorf("%w: %s", ErrAccessDenied, name)
	}
	return b, rev, nil
}

// HeadBucket returns a bucket the account owns.
func (s *Store) HeadBucket(ctx context.Context, account, name string) (Bucket, error) {
	b, _, err := s.bucket(ctx, account, name)
	if err != nil {
		return Bucket{}, err
	}
	return Bucket{Name: name, Account: b.Account, Region: b.Region, Created: time.Unix(0, b.Created).UTC()}, nil
}

// ListBuckets returns the account's buckets in name order.
func (s *Store) ListBuckets(ctx context.Context, account string) ([]Bucket, error) {
	var out []Bucket
	err := s.meta.ScanFrom(ctx, keyBuckets, keyBuckets, func(k string, v []byte, _ uint64) error {
		var b bucketRecord
		if err := jsonUnmarshal(k, v, &b); err != nil {
			return err
		}
		if b.Account == account {
			out = append(out, Bucket{Name: k[len(keyBuckets):], Account: b.Account, Region: b.Region, Created: time.Unix(0, b.Created).UTC()})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// DeleteBucket deletes an empty bucket the account owns. Multipart uploads
// in progress in it are aborted with it.
func (s *Store) DeleteBucket(ctx context.Context, account, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, rev, err := s.bucket(ctx, account, name)
	if err != nil {
		return err
	}
	empty := true
	err = s.meta.ScanFrom(ctx, keyObjects+name+"/", "", func(string, []byte, uint64) error {
		empty = false
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if !empty {
		return fmt.Errorf("%w: %s", ErrBucketNotEmpty, name)
	}
	// The bucket goes in one commit; the uploads left in it (their parts
	// and files) are collected after it, still under mu, in bounded
	// commits (collectBucket), or at the next Open after a crash.
	uploads, _, err := s.firstKeys(ctx, keyUploads+name+"/", 1)
	if err != nil {
		return err
	}
	t := newChange()
	t.compare[keyBuckets+name] = rev
	t.deletes = append(t.deletes, keyBuckets+name)
	if len(uploads) > 0 {
		t.release(releaseRecord{Bucket: name})
	}
	if err := s.apply(ctx, t); err != nil {
		return err
	}
	s.finish(ctx, t)
	return nil
}
