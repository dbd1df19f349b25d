// Package local implements blob.Store on a local directory. It owns the
// directory's layout; it must not be shared by two Stores (or processes)
// at once, since Open empties tmp/.
//
// Layout under the root:
//
//	tmp/<random>           a body being written (emptied at Open)
//	obj/<d>/<d>/.../<f>~   a blob: each "/"-separated key segment becomes a
//	                       path element, escaped; the last one ends in "~"
//
// Escaping keeps the bytes [A-Za-z0-9._-] and writes every other byte as
// %XX (upper-case hex), so "~" never appears in an escaped segment: a blob
// "a" (obj/a~) and a blob "a/b" (obj/a/b~) coexist, as they do in S3. An
// escaped segment longer than 255 bytes (a file name's limit) makes the
// key invalid here.
//
// Durability: PutIfAbsent writes tmp/<random>, fsyncs it, checks size and
// SHA-256, creates the parent directories, links the file under its final
// name with link(2) (which fails if the name exists: the put-if-absent
// race is decided by the filesystem, so exactly one writer wins even
// across processes), removes the temporary name and fsyncs every directory
// from the blob's parent up to the root. When it returns the blob survives
// power loss. Delete fsyncs the parent directory after the unlink.
//
// Files are 0600, directories 0700. The store uses the os package
// directly: vfs has no link(2) yet, so crash simulation of this store
// waits for one.
package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/rheos/rheos/internal/blob"
)

// Store is a blob.Store on a directory.
type Store struct {
	root string
	obj  string
	tmp  string
}

var _ blob.Store = (*Store)(nil)

// Open opens (creating it if needed) the store rooted at dir and empties
// its tmp/ of bodies a crash left behind.
func Open(dir string) (*Store, error) {
	s := &Store{root: dir, obj: filepath.Join(dir, "obj"), tmp: filepath.Join(dir, "tmp")}
	if err := os.RemoveAll(s.tmp); err != nil {
		return nil, fmt.Errorf("blob/local: clear tmp: %w", err)
	}
	for _, d := range []string{s.obj, s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blob/local: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return s, nil
}

const safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

// escape writes one key segment as a file name.
func escape(seg string) string {
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if strings.IndexByte(safe, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// unescape inverts escape.
func unescape(name string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] != '%' {
			b.WriteByte(name[i])
			continue
		}
		if i+2 >= len(name) {
			return "", false
		}
		v, err := hex.DecodeString(name[i+1 : i+3])
		if err != nil {
			return "", false
		}
		b.WriteByte(v[0])
		i += 2
	}
	return b.String(), true
}

// path maps a key to its file, or fails with ErrInvalidKey.
func (s *Store) path(key string) (string, error) {
	if !blob.ValidKey(key) {
		return "", fmt.Errorf("%w: %q", blob.ErrInvalidKey, key)
	}
	segs := strings.Split(key, "/")
	elems := make([]string, 0, len(segs)+1)
	elems = append(elems, s.obj)
	for i, seg := range segs {
		e := escape(seg)
		if i == len(segs)-1 {
			e += "~"
		}
		if len(e) > 255 {
			return "", fmt.Errorf("%w: segment %q too long for a file name", blob.ErrInvalidKey, seg)
		}
		elems = append(elems, e)
	}
	return filepath.Join(elems...), nil
}

// keyOf maps a file path under obj/ back to its key.
func (s *Store) keyOf(p string) (string, bool) {
	rel, err := filepath.Rel(s.obj, p)
	if err != nil || !strings.HasSuffix(rel, "~") {
		return "", false
	}
	parts := strings.Split(filepath.ToSlash(strings.TrimSuffix(rel, "~")), "/")
	for i, part := range parts {
		seg, ok := unescape(part)
		if !ok {
			return "", false
		}
		parts[i] = seg
	}
	return strings.Join(parts, "/"), true
}

// PutIfAbsent implements blob.Store; see the package comment for its
// durability.
func (s *Store) PutIfAbsent(ctx context.Context, key string, body io.Reader, size int64, sum []byte) (err error) {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if len(sum) != blob.SumSize || size < 0 {
		return fmt.Errorf("blob/local: put %q: need a 32-byte sha256 and a size >= 0", key)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("%w: %q", blob.ErrExists, key)
	}
	var rnd [16]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(s.tmp, hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("blob/local: %w", err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
		os.Remove(tmp)
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, io.LimitReader(body, size)})
	if err != nil {
		return fmt.Errorf("blob/local: put %q: %w", key, err)
	}
	if n != size || !bytes.Equal(h.Sum(nil), sum) {
		return fmt.Errorf("%w: %q: got %d bytes", blob.ErrChecksum, key, n)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob/local: fsync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("blob/local: %w", err)
	}
	f = nil
	if err := ctx.Err(); err != nil {
		return err
	}
	// A concurrent Delete may remove an emptied parent between MkdirAll
	// and Link: retry a few times.
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("blob/local: %w", err)
		}
		err := os.Link(tmp, p)
		if err == nil {
			break
		}
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %q", blob.ErrExists, key)
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == 3 {
			return fmt.Errorf("blob/local: link: %w", err)
		}
	}
	// Make the new name, and any directories made for it, durable.
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		if err := syncDir(d); err != nil {
			return err
		}
		if d == s.obj {
			return nil
		}
	}
}

// Get implements blob.Store.
func (s *Store) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q", blob.ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("blob/local: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob/local: %w", err)
	}
	if off < 0 || off > fi.Size() {
		f.Close()
		return nil, fmt.Errorf("%w: %q: offset %d, size %d", blob.ErrRange, key, off, fi.Size())
	}
	if n < 0 || n > fi.Size()-off {
		n = fi.Size() - off
	}
	return &rangeReader{ctxReader{ctx, io.NewSectionReader(f, off, n)}, f}, nil
}

// Stat implements blob.Store. The local store keeps no checksum, so
// Info.SHA256 is nil.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	p, err := s.path(key)
	if err != nil {
		return blob.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return blob.Info{}, fmt.Errorf("%w: %q", blob.ErrNotFound, key)
	}
	if err != nil {
		return blob.Info{}, fmt.Errorf("blob/local: %w", err)
	}
	return blob.Info{Key: key, Size: fi.Size()}, nil
}

// List implements blob.Store. It walks the directory of the prefix's
// complete segments and sorts what it finds: O(blobs under that
// directory) per page.
func (s *Store) List(ctx context.Context, prefix, after string, limit int) ([]blob.Info, bool, error) {
	if limit <= 0 {
		limit = blob.DefaultListLimit
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	dir := s.obj
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		for seg := range strings.SplitSeq(prefix[:i], "/") {
			dir = filepath.Join(dir, escape(seg))
		}
	}
	var all []blob.Info
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // the directory went away (or never was)
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		key, ok := s.keyOf(p)
		if !ok || !strings.HasPrefix(key, prefix) || key <= after {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		all = append(all, blob.Info{Key: key, Size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("blob/local: list: %w", err)
	}
	slices.SortFunc(all, func(a, b blob.Info) int { return strings.Compare(a.Key, b.Key) })
	if len(all) > limit {
		return all[:limit], true, nil
	}
	return all, false, nil
}

// Delete implements blob.Store: it unlinks the file, fsyncs its directory
// and removes the directories the removal emptied.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("blob/local: %w", err)
	}
	// A concurrent Delete of the directory's last other object may have
	// removed it: the entry is gone with it, nothing to sync.
	if err := syncDir(filepath.Dir(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for d := filepath.Dir(p); d != s.obj; d = filepath.Dir(d) {
		if err := os.Remove(d); err != nil {
			break // not empty (ENOTEMPTY/EEXIST), or already gone
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob/local: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("blob/local: fsync %s: %w", dir, err)
	}
	return nil
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type rangeReader struct {
	io.Reader
	f *os.File
}

func (r *rangeReader) Close() error { return r.f.Close() }
