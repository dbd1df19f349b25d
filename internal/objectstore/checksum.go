package objectstore

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
)

// Checksum is an additional checksum of a body (S3's x-amz-checksum-*): the
// store computes it as the body streams and refuses the body
// (ErrBadDigest) if it differs from the writer's.
type Checksum struct {
	// Algorithm is CRC32, CRC32C, CRC64NVME, SHA1 or SHA256.
	Algorithm string
	// Value is the writer's checksum, base64 of the big-endian digest; ""
	// when it follows the body (Trailer).
	Value string
	// Trailer, if set, returns the writer's checksum once the body has been
	// read (an aws-chunked trailer).
	Trailer func() string
}

// crc64NVME is CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5; Go's
// crc64 applies its initial and final all-ones).
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// checksumHashes are the algorithms S3 offers.
var checksumHashes = map[string]func() hash.Hash{
	"CRC32":     func() hash.Hash { return crc32.NewIEEE() },
	"CRC32C":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"CRC64NVME": func() hash.Hash { return crc64.New(crc64NVME) },
	"SHA1":      sha1.New,
	"SHA256":    sha256.New,
}

// ChecksumAlgorithms lists the algorithms of Checksum.
func ChecksumAlgorithms() []string { return []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"} }

// newChecksum returns the hash of an algorithm, nil for an unknown one.
func newChecksum(algorithm string) hash.Hash {
	if f := checksumHashes[algorithm]; f != nil {
		return f()
	}
	return nil
}

// encodeChecksum is a digest as S3 writes it: base64 of its big-endian
// bytes (what Sum returns for the CRCs too).
func encodeChecksum(h hash.Hash) string { return base64.StdEncoding.EncodeToString(h.Sum(nil)) }
