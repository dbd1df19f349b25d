// Package objectstore owns the objects of Rheos's built-in S3: buckets (one
// namespace per server, each owned by an account), objects with their
// metadata, multipart uploads, and listing in key order. Object bytes live
// in files on local disk; what names them lives in the metadata store. It
// knows nothing of HTTP, XML or signatures: internal/s3api serves it as the
// S3 REST API, and other services of the server (Firehose's S3 destination)
// call it in process.
//
// # In-process API
//
// Every call names the account acting; a bucket of another account answers
// ErrAccessDenied, a missing one ErrNoSuchBucket.
//
//	etag, err := store.PutObject(ctx, account, bucket, key, body, size, "application/octet-stream")
//	rc, info, err := store.GetObject(ctx, account, bucket, key)   // rc streams from disk; Close it
//	page, err := store.ListObjects(ctx, account, bucket, objectstore.ListInput{Prefix: "p/"})
//
// Put (PutInput: user metadata, Content-MD5, a claimed SHA-256, an additional
// CRC32/CRC32C/CRC64NVME/SHA1/SHA256 checksum, checksum.go), OpenObject
// (ranges), HeadObject, DeleteObject, CopyObject, the bucket calls and the
// multipart calls (CreateUpload, PutPart, CompleteUpload, AbortUpload,
// ListParts) are the rest. A call returns once what it acknowledges is
// durable. ETags are quoted, as S3 shows them: the MD5 of the bytes in hex,
// or for a multipart object the MD5 of the parts' MD5s and "-N".
//
// # On disk
//
//	<dir>/tmp/<id>        a body being received (removed at Open if a crash left it)
//	<dir>/data/<xx>/<id>  an object's bytes, or one part's; xx = the id's first two hex digits
//
// Ids are 128 random bits in hex, never derived from keys, so any UTF-8 key
// of up to 1024 bytes (with "/", "..", or anything else) is stored alike.
// Files are 0600 and directories 0700 (vfs.FilePerm, vfs.DirPerm). A body is
// written to tmp/, fsynced, renamed into data/ and its directory fsynced
// before the metadata naming it is committed: a write that fails or a crash
// at any point leaves either the previous object or the new one, never a
// partial one; bodies are streamed through a fixed buffer, never held whole.
//
// # Metadata (MetaStore keys)
//
//	s3/buckets/<bucket>               {account, region, created}
//	s3/objects/<bucket>/<key>         {size, etag, mtime, content headers, user metadata, files or list}
//	s3/lists/<list id>/<nnnnn>        a chunk of an object's file list (see below)
//	s3/uploads/<bucket>/<upload id>   {key, initiated, content headers, user metadata}
//	s3/parts/<upload id>/<nnnnn>      {file, size, etag, mtime}
//	s3/files/<id>                     the file is referenced (its value names the record that first did)
//	s3/release/<id>                   what a commit stopped referencing, to collect (see below)
//
// Byte order of the object keys is S3's listing order (UTF-8 binary), so a
// listing is a range scan resumed with ScanFrom. A data file whose
// s3/files/ key is absent is garbage (a crash between the rename and the
// commit, or between a delete's commit and the file's removal) and Open
// removes it. A completed upload's parts hand their files, and their
// s3/files/ keys, to the object.
//
// # Bounded commits
//
// Every commit stays within metastore.EtcdLimits (128 operations, 1 MiB)
// whatever the number of parts, uploads or files, and every value well
// under 1 MiB:
//
//   - An object of up to inlineFiles (32) files lists them in its record;
//     one with more (a multipart object) names a list, chunks of up to 1000
//     files (24 bytes each: the id's 16 bytes, the size's 8, big-endian)
//     under s3/lists/, put in the commit that installs the object (10 puts
//     and 240 KB for S3's 10,000 parts).
//   - The commit that decides an outcome (an object is installed, replaced
//     or deleted; an upload is completed or aborted; a bucket is deleted)
//     is one atomic compare-and-swap that changes only a few keys. What it
//     stops referencing goes in the same commit when it is a few keys (an
//     object's up to 32 file keys, an upload's up to 16 parts); otherwise
//     the commit puts a release record under s3/release/ naming it: an
//     object's file list, the files of an old object listing more than 32,
//     an ended upload's parts (with a bitmap of the part numbers whose
//     files a completed object took), or a deleted bucket's uploads.
//   - After the commit the caller collects its release records in commits
//     of at most 100 deletes, each consistent on its own: a file's key is
//     deleted with or before the part key or list chunk that names it, so
//     that what remains still names every file not yet released; then the
//     files are removed and the record is deleted. Collection is
//     idempotent. A crash or an error part way leaves the record, and the
//     next Open collects every record before its file sweep.
//
// Hence the invariants Open relies on, after any crash: every s3/files/
// key, part key, list chunk and upload record is named by a live record
// (an object, a live upload, a live bucket) or by a release record; a data
// file is referenced while its s3/files/ key exists. No part key outlives
// its upload, and no file key its last referent, beyond the collection of
// a release record. Leftovers are invisible meanwhile: an ended upload's
// parts are reached only through its record, a list only through its
// object, and uploads left under a deleted bucket's name are collected
// before a bucket of that name is created again.
//
// # Concurrency
//
// Store is safe for concurrent use. Store.mu orders bucket lifecycles
// against writes into buckets: Put, PutPart, CreateUpload and
// CompleteUpload hold it shared around their metadata commit (never while
// receiving a body), CreateBucket and DeleteBucket hold it alone (the
// latter also while it collects the uploads it ended). Once an upload's
// record is gone no part can be committed under it (PutPart compares the
// record), so its parts are frozen for collection. Writes to
// one key race through compare-and-swap commits: the last commit wins and
// each releases the files it replaced. Lock order: Store.mu → the
// metadata store.
package objectstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

// Errors callers branch on (errors.Is); the messages around them name the
// bucket, key or part.
var (
	ErrNoSuchBucket         = errors.New("the specified bucket does not exist")
	ErrNoSuchKey            = errors.New("the specified key does not exist")
	ErrObjectExists         = errors.New("an object exists under the key (If-None-Match: *)")
	ErrNoSuchUpload         = errors.New("the specified multipart upload does not exist")
	ErrBucketAlreadyExists  = errors.New("the requested bucket name is not available")
	ErrBucketAlreadyOwned   = errors.New("the bucket you tried to create already exists, and you own it")
	ErrBucketNotEmpty       = errors.New("the bucket you tried to delete is not empty")
	ErrInvalidBucketName    = errors.New("the specified bucket is not valid")
	ErrInvalidKey           = errors.New("object keys are 1 to 1024 bytes of UTF-8")
	ErrKeyTooLong           = errors.New("your key is too long")
	ErrAccessDenied         = errors.New("access denied: the bucket belongs to another account")
	ErrInvalidPart          = errors.New("one or more of the specified parts could not be found, or its entity tag did not match")
	ErrInvalidPartOrder     = errors.New("the list of parts was not in ascending order")
	ErrInvalidPartNumber    = errors.New("part number must be an integer between 1 and 10000, inclusive")
	ErrEntityTooSmall       = errors.New("your proposed upload is smaller than the minimum allowed object size")
	ErrEntityTooLarge       = errors.New("your proposed upload exceeds the maximum allowed object size")
	ErrBadDigest            = errors.New("the Content-MD5 or checksum you specified did not match what we received")
	ErrContentSHA256        = errors.New("the provided 'x-amz-content-sha256' header does not match what was computed")
	ErrIncompleteBody       = errors.New("you did not provide the number of bytes specified by the Content-Length HTTP header")
	ErrMalformedCompleteReq = errors.New("you must specify at least one part")
)

// Limits of S3 the store enforces.
const (
	MaxKeyBytes      = 1024
	MaxObjectSize    = 5 << 30 // one PutObject (or one part)
	MaxMultipartSize = 5 << 40
	MaxParts         = 10000
	// DefaultMinPartSize is the smallest part but the last (5 MiB).
	DefaultMinPartSize = 5 << 20
)

// MetaStore is the revisioned metadata store the objects' names live in
// (internal/metastore; the server supplies it). Commit applies puts and
// deletes only if every compared key still has the given revision (0:
// absent).
type MetaStore interface {
	Get(ctx context.Context, key string) ([]byte, uint64, error)
	ScanFrom(ctx context.Context, prefix, from string, fn func(key string, value []byte, rev uint64) error) error
	Commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (ok bool, rev uint64, err error)
}

// Config configures a Store.
type Config struct {
	// Dir holds the object files (the server uses <data-dir>/s3). Required.
	Dir string
	// FS is the filesystem. Default vfs.OS{}.
	FS vfs.FS
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// MinPartSize is the smallest part of a multipart upload but the last.
	// Default DefaultMinPartSize (5 MiB, as S3).
	MinPartSize int64
	// Region is the region of a bucket created without one. Default us-east-1.
	Region string
	// Logger receives the removal of garbage files. Default slog.Default().
	Logger *slog.Logger
}

// Store is the object store. See the package comment.
type Store struct {
	cfg     Config
	fs      vfs.FS
	meta    MetaStore
	tmpDir  string
	dataDir string
	log     *slog.Logger
	bufs    sync.Pool // *[]byte of copyBuf bytes

	// mu: bucket lifecycles exclusive, writes into buckets shared (see the
	// package comment).
	mu sync.RWMutex
}

// copyBuf is the size of the buffer a body is streamed through.
const copyBuf = 256 << 10

// Metadata key prefixes (see the package comment).
const (
	keyBuckets = "s3/buckets/"
	keyObjects = "s3/objects/"
	keyUploads = "s3/uploads/"
	keyParts   = "s3/parts/"
	keyFiles   = "s3/files/"
	keyLists   = "s3/lists/"
	keyRelease = "s3/release/"
)

// Open opens the store in cfg.Dir, creating its directories, and removes
// what a crash left behind: temporary bodies and unreferenced data files.
func Open(ctx context.Context, cfg Config, meta MetaStore) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("objectstore: no directory")
	}
	if cfg.FS == nil {
		cfg.FS = vfs.OS{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinPartSize <= 0 {
		cfg.MinPartSize = DefaultMinPartSize
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{cfg: cfg, fs: cfg.FS, meta: meta, tmpDir: filepath.Join(cfg.Dir, "tmp"), dataDir: filepath.Join(cfg.Dir, "data"), log: cfg.Logger}
	s.bufs.New = func() any { b := make([]byte, copyBuf); return &b }
	if err := s.fs.MkdirAll(s.tmpDir); err != nil {
		return nil, fmt.Errorf("objectstore: %w", err)
	}
	for i := 0; i < 256; i++ {
		if err := s.fs.MkdirAll(filepath.Join(s.dataDir, fmt.Sprintf("%02x", i))); err != nil {
			return nil, fmt.Errorf("objectstore: %w", err)
		}
	}
	for _, d := range []string{cfg.Dir, s.dataDir} {
		if err := s.fs.SyncDir(d); err != nil {
			return nil, fmt.Errorf("objectstore: %w", err)
		}
	}
	if err := s.sweep(ctx); err != nil {
		return nil, fmt.Errorf("objectstore: recovery: %w", err)
	}
	return s, nil
}

// ObjectMeta is what a writer says about an object besides its bytes.
type ObjectMeta struct {
	ContentType        string `json:"type,omitempty"`
	ContentEncoding    string `json:"encoding,omitempty"`
	ContentDisposition string `json:"disposition,omitempty"`
	ContentLanguage    string `json:"language,omitempty"`
	CacheControl       string `json:"cache,omitempty"`
	Expires            string `json:"expires,omitempty"` // as the writer gave it
	// Metadata is the user metadata (x-amz-meta-NAME: value), names lower case.
	Metadata map[string]string `json:"meta,omitempty"`
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Bucket, Key string
	Size        int64
	ETag        string // quoted
	Modified    time.Time
	// Parts is the number of parts of a multipart object (0 otherwise).
	Parts int
	// ChecksumAlgorithm and Checksum are the additional checksum the
	// writer gave and the store verified ("" for none; multipart objects
	// keep none).
	ChecksumAlgorithm, Checksum string
	ObjectMeta
}

// Bucket describes a bucket.
type Bucket struct {
	Name    string
	Account string
	Region  string
	Created time.Time
}

// fileRef names one data file of an object, in order.
type fileRef struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
}

// objectRecord is the value of s3/objects/<bucket>/<key>.
type objectRecord struct {
	Size     int64  `json:"size"`
	ETag     string `json:"etag"` // unquoted
	Modified int64  `json:"mtime"`
	Parts    int    `json:"parts,omitempty"`
	// Files are the object's data files in order, or nil with List set
	// when they are more than inlineFiles (Store.files reads them).
	Files    []fileRef       `json:"files"`
	List     *listRef        `json:"list,omitempty"`
	Checksum *storedChecksum `json:"checksum,omitempty"`
	ObjectMeta
}

// bucketRecord is the value of s3/buckets/<bucket>.
type bucketRecord struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Created int64  `json:"created"`
}

func (r objectRecord) info(bucket, key string) ObjectInfo {
	info := ObjectInfo{Bucket: bucket, Key: key, Size: r.Size, ETag: `"` + r.ETag + `"`, Modified: time.Unix(0, r.Modified).UTC(),
		Parts: r.Parts, ObjectMeta: r.ObjectMeta}
	if r.Checksum != nil {
		info.ChecksumAlgorithm, info.Checksum = r.Checksum.Algorithm, r.Checksum.Value
	}
	return info
}

// newID returns 128 random bits in hex.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func objectKey(bucket, key string) string { return keyObjects + bucket + "/" + key }

// getJSON reads a JSON value and its revision; rev 0 when absent.
func (s *Store) getJSON(ctx context.Context, key string, v any) (uint64, error) {
	b, rev, err := s.meta.Get(ctx, key)
	if err != nil || rev == 0 {
		return 0, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return 0, fmt.Errorf("objectstore: %s: %w", key, err)
	}
	return rev, nil
}

// mustJSON encodes a record (of types that always encode).
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// errConflict: a compare-and-swap commit lost a race; the caller retries.
var errConflict = errors.New("objectstore: concurrent change")

// commit runs a compare-and-swap commit, errConflict when it lost.
func (s *Store) commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) error {
	ok, _, err := s.meta.Commit(ctx, compare, puts, deletes)
	if err != nil {
		return fmt.Errorf("objectstore: commit: %w", err)
	}
	if !ok {
		return errConflict
	}
	return nil
}

// retry runs fn until it does not lose a race (bounded: a loop that keeps
// losing is a bug or a storm, reported as an error).
func retry(fn func() error) error {
	for i := 0; i < 1000; i++ {
		if err := fn(); !errors.Is(err, errConflict) {
			return err
		}
	}
	return fmt.Errorf("objectstore: too many concurrent changes: %w", errConflict)
}
