package objectstore

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"

	"github.com/rheos/rheos/internal/vfs"
)

// errStop ends a scan early.
var errStop = errors.New("objectstore: stop scan")

func jsonUnmarshal(key string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("objectstore: %s: %w", key, err)
	}
	return nil
}

// dataPath is where the data file id lives.
func (s *Store) dataPath(id string) string { return filepath.Join(s.dataDir, id[:2], id) }

// body is a body to receive and what to check it against.
type body struct {
	r    io.Reader
	size int64 // announced length; -1 unknown
	max  int64 // the largest accepted
	md5  []byte
	// sha256 is a claimed SHA-256 in hex ("" for none).
	sha256 string
	// checksum, if set, is an additional checksum to verify (and keep).
	checksum *Checksum
}

// received is a body durable in its data file.
type received struct {
	file fileRef
	md5  [md5.Size]byte
	// checksum is the body's verified additional checksum, if one was given.
	checksum *storedChecksum
}

// storedChecksum is a verified additional checksum, as records keep it.
type storedChecksum struct {
	Algorithm string `json:"alg"`
	Value     string `json:"value"`
}

// receive streams a body into a new data file: tmp/<id>, written through
// one pooled buffer, checked (length, Content-MD5, claimed SHA-256),
// fsynced, renamed into data/ and its directory fsynced. On any error
// nothing is left behind.
func (s *Store) receive(ctx context.Context, b body) (received, error) {
	if b.size > b.max {
		return received{}, fmt.Errorf("%w: %d bytes (at most %d)", ErrEntityTooLarge, b.size, b.max)
	}
	id := newID()
	tmp := filepath.Join(s.tmpDir, id)
	f, err := s.fs.Create(tmp)
	if err != nil {
		return received{}, fmt.Errorf("objectstore: %w", err)
	}
	fail := func(err error) (received, error) {
		f.Close()
		s.fs.Remove(tmp)
		return received{}, err
	}
	sum := md5.New()
	hashes := []io.Writer{f, sum}
	var sh, ck hash.Hash
	if b.sha256 != "" {
		sh = sha256.New()
		hashes = append(hashes, sh)
	}
	if b.checksum != nil {
		if ck = newChecksum(b.checksum.Algorithm); ck == nil {
			return fail(fmt.Errorf("%w: unknown checksum algorithm %q", ErrBadDigest, b.checksum.Algorithm))
		}
		hashes = append(hashes, ck)
	}
	limit := b.max + 1
	if b.size >= 0 {
		limit = b.size + 1
	}
	bufp := s.bufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(hashes...), io.LimitReader(ctxReader{ctx, b.r}, limit), *bufp)
	s.bufs.Put(bufp)
	switch {
	case err != nil:
		return fail(fmt.Errorf("objectstore: receiving: %w", err))
	case n > b.max:
		return fail(fmt.Errorf("%w: more than %d bytes", ErrEntityTooLarge, b.max))
	case b.size >= 0 && n != b.size:
		return fail(fmt.Errorf("%w: %d of %d bytes", ErrIncompleteBody, n, b.size))
	}
	var r received
	copy(r.md5[:], sum.Sum(nil))
	if b.md5 != nil && string(b.md5) != string(r.md5[:]) {
		return fail(ErrBadDigest)
	}
	if sh != nil && !equalFoldHex(b.sha256, hex.EncodeToString(sh.Sum(nil))) {
		return fail(ErrContentSHA256)
	}
	if ck != nil {
		want := b.checksum.Value
		if want == "" && b.checksum.Trailer != nil {
			want = b.checksum.Trailer()
		}
		got := encodeChecksum(ck)
		if want != got {
			return fail(fmt.Errorf("%w: the %s you specified did not match the calculated checksum", ErrBadDigest, b.checksum.Algorithm))
		}
		r.checksum = &storedChecksum{Algorithm: b.checksum.Algorithm, Value: got}
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("objectstore: %w", err))
	}
	if err := f.Close(); err != nil {
		s.fs.Remove(tmp)
		return received{}, fmt.Errorf("objectstore: %w", err)
	}
	final := s.dataPath(id)
	if err := s.fs.Rename(tmp, final); err != nil {
		s.fs.Remove(tmp)
		return received{}, fmt.Errorf("objectstore: %w", err)
	}
	if err := s.fs.SyncDir(filepath.Dir(final)); err != nil {
		s.fs.Remove(final)
		return received{}, fmt.Errorf("objectstore: %w", err)
	}
	r.file = fileRef{ID: id, Size: n}
	return r, nil
}

func equalFoldHex(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'F' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ctxReader stops a copy when its context ends.
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

// removeFiles removes data files no committed metadata names any more.
// A failure only leaves garbage, which the next Open removes.
func (s *Store) removeFiles(ids []string) {
	for _, id := range ids {
		if err := s.fs.Remove(s.dataPath(id)); err != nil && !vfs.IsNotExist(err) {
			s.log.Warn("objectstore: removing a released file", "file", id, "err", err)
		}
	}
}

// sweep removes what a crash left: every temporary body, what release
// records name (collectReleased), and every data file no s3/files/ key
// names. It runs at Open, before any write.
func (s *Store) sweep(ctx context.Context) error {
	names, err := s.fs.ReadDir(s.tmpDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := s.fs.Remove(filepath.Join(s.tmpDir, n)); err != nil {
			return err
		}
	}
	if n, err := s.collectReleased(ctx); err != nil {
		return err
	} else if n > 0 {
		s.log.Info("objectstore: collected what earlier commits released", "records", n)
	}
	removed := 0
	for i := 0; i < 256; i++ {
		dir := filepath.Join(s.dataDir, fmt.Sprintf("%02x", i))
		names, err := s.fs.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, id := range names {
			_, rev, err := s.meta.Get(ctx, keyFiles+id)
			if err != nil {
				return err
			}
			if rev != 0 {
				continue
			}
			if err := s.fs.Remove(filepath.Join(dir, id)); err != nil {
				return err
			}
			removed++
		}
	}
	if removed > 0 {
		s.log.Info("objectstore: removed unreferenced data files", "files", removed)
	}
	return nil
}

// openFiles opens an object's data files; a file removed meanwhile (the
// object was replaced) is reported as vfs's not-exist error.
func (s *Store) openFiles(refs []fileRef) ([]vfs.File, error) {
	files := make([]vfs.File, 0, len(refs))
	for _, ref := range refs {
		f, err := s.fs.Open(s.dataPath(ref.ID))
		if err != nil {
			closeAll(files)
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func closeAll(files []vfs.File) {
	for _, f := range files {
		f.Close()
	}
}
