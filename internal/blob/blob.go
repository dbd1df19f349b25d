// Package blob owns the contract of an object store for immutable blobs:
// sealed log segments and their indexes, later WAL objects and manifests
// (issue 18, the cluster design's tiered storage). It declares the Store
// interface, its sentinel errors and the key rules every implementation
// enforces alike; it must not know what a segment is, and it holds no
// implementation itself.
//
// Implementations, and when a PUT is durable:
//
//   - blob/local: a directory on the local filesystem. The body is written
//     to a temporary file, fsynced, checked, linked under its final name
//     (link(2) refuses to overwrite, which makes put-if-absent atomic) and
//     every directory from the object's parent up to the root is fsynced
//     before PutIfAbsent returns: a PUT that returned survives power loss.
//   - blob/s3: any S3-compatible server through the AWS SDK for Go v2. A PUT
//     is exactly as durable as the server makes it before its 200: AWS S3
//     stores it redundantly across devices; Rheos's built-in S3 fsyncs the
//     body and commits its metadata before answering; versitygw's posix
//     backend does not fsync (O_TMPFILE + linkat + rename), so its acks
//     survive a process kill but not power loss.
//
// Every implementation passes the one conformance suite in blob/blobtest.
package blob

import (
	"context"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// Store holds immutable blobs under string keys. Blobs are written once
// (PutIfAbsent), read in ranges, listed in key order and deleted; nothing
// is ever overwritten. Keys name a tree: callers must not store both a key
// and a key below it ("a" and "a/b"), because S3 servers backed by a
// filesystem (versitygw posix: ObjectParentIsFile) refuse the second. All methods are safe for concurrent use and honour
// ctx: a cancelled call returns an error wrapping ctx.Err() where the
// store can tell, and a cancelled PutIfAbsent leaves no blob.
type Store interface {
	// PutIfAbsent stores exactly size bytes read from body under key,
	// unless key already holds a blob: then it returns ErrExists and reads
	// nothing more. sha256 (32 bytes) is the SHA-256 of those size bytes;
	// a body that does not match it, or ends before size bytes, is refused
	// with ErrChecksum and stores nothing. The store verifies the checksum
	// itself and, where the backend can (S3: x-amz-checksum-sha256 and
	// x-amz-content-sha256), has the backend verify it again. When several
	// callers race on one key, exactly one succeeds and the others get
	// ErrExists (blob/s3 documents where it can only promise this inside
	// one process). How durable a blob is when PutIfAbsent returns is
	// stated per implementation in the package comment. The caller keeps
	// ownership of body; PutIfAbsent does not close it.
	PutIfAbsent(ctx context.Context, key string, body io.Reader, size int64, sha256 []byte) error

	// Get returns the bytes [off, off+n) of key's blob, cut short at its
	// end; n < 0 reads to the end. off equal to the size gives an empty
	// reader, off beyond it ErrRange; a missing key gives ErrNotFound. The
	// caller must Close the reader; it reads under ctx.
	Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)

	// Stat describes key's blob, or returns ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)

	// List returns up to limit blobs whose keys start with prefix and sort
	// after after (byte-wise, as Go compares strings; "" starts at the
	// beginning), in key order, and whether more may follow. A caller
	// pages by passing the last key of one page as the next call's after.
	// limit <= 0 means a store default (1000).
	List(ctx context.Context, prefix, after string, limit int) (infos []Info, more bool, err error)

	// Delete removes key's blob. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Info describes one stored blob.
type Info struct {
	// Key is the blob's key.
	Key string
	// Size is its length in bytes.
	Size int64
	// SHA256 is its SHA-256 when the store keeps it (S3 servers that store
	// x-amz-checksum-sha256 answer it on Stat); nil otherwise. List leaves
	// it nil.
	SHA256 []byte
}

// Sentinel errors, compared with errors.Is.
var (
	// ErrExists: PutIfAbsent found the key already holding a blob.
	ErrExists = errors.New("blob: key already exists")
	// ErrNotFound: no blob under the key.
	ErrNotFound = errors.New("blob: not found")
	// ErrChecksum: a body did not match its declared size and SHA-256.
	ErrChecksum = errors.New("blob: body does not match its size and sha256")
	// ErrInvalidKey: the key breaks the key rules (ValidKey).
	ErrInvalidKey = errors.New("blob: invalid key")
	// ErrRange: Get's offset lies beyond the end of the blob.
	ErrRange = errors.New("blob: offset beyond the end of the blob")
)

// MaxKeyLen is the longest key in bytes (S3's limit). blob/s3 counts its
// prefix against it.
const MaxKeyLen = 1024

// DefaultListLimit is the page size List uses for limit <= 0.
const DefaultListLimit = 1000

// ValidKey reports whether key obeys the rules every store enforces: valid
// UTF-8 of 1 to MaxKeyLen bytes with no control characters (U+0000 to
// U+001F, U+007F), made of "/"-separated segments that are neither empty
// nor "." nor "..". So a key never starts or ends with "/" and never holds
// "//". These rules keep keys portable across filesystems and S3 servers
// that normalise paths; an implementation may refuse more (blob/local: a
// segment whose escaped file name exceeds 255 bytes).
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLen || !utf8.ValidString(key) {
		return false
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// SumSize is the length of the SHA-256 PutIfAbsent takes.
const SumSize = 32
