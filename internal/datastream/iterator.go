package datastream

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// Shard iterators are stateless: everything needed to continue reading is
// sealed inside the iterator with AES-256-GCM under a server secret kept in
// the metadata store, so iterators are opaque, tamper-proof and valid on any
// node that shares the secret. They expire after Config.IteratorTTL (5
// minutes), counted from IssuedMs inside the seal.
//
// The layout has AWS's shape, as kinesalite's tests recorded it
// (helpers.assertShardIterator, db/index.js createShardIterator): canonical
// base64 of
//
//	00 00 00 00 00 00 00 01 | nonce (12) | GCM(plaintext) | tag (16)
//
// AWS's iterators are 152 + floor((len(StreamName)+2)/16)*16 bytes, so
// 152..280 for names of 1..128 characters; the plaintext is zero-padded to
// reach exactly that length (iteratorLen). Only an account and region
// together longer than 71 bytes, which AWS does not have, make the
// iterator longer, by 16-byte steps (still at most 512 base64 characters,
// GetRecords' limit).
//
// plaintext (version 2): version u8 = 2 | issuedMs i64 | streamCreatedMs i64 |
// shardIndex u32 | position u64 | account, region, stream name (u8 length +
// bytes each) | zero padding. Version 1 (before issue 11) is the same
// without padding, in an iterator of any length; it is still accepted, so
// iterators issued before an upgrade keep working until they expire.
type iteratorCodec struct{ aead cipher.AEAD }

type iterator struct {
	IssuedMs        int64
	StreamCreatedMs int64
	ShardIndex      int
	Position        uint64 // next counter to read
	Account         string
	Region          string
	Stream          string
}

// Iterator format constants (part of the format).
const (
	iterVersion    = 2  // plaintext version written
	iterNonceLen   = 12 // GCM nonce
	iterTagLen     = 16 // GCM tag
	iterFixedLen   = 29 // version, issuedMs, streamCreatedMs, shardIndex, position
	iterAWSBaseLen = 152
)

var iterPrefix = []byte{0, 0, 0, 0, 0, 0, 0, 1}

// iteratorLen is the length in bytes (before base64) of AWS's iterator for
// a stream name of n characters.
func iteratorLen(n int) int { return iterAWSBaseLen + (n+2)/16*16 }

func newIteratorCodec(key []byte) (*iteratorCodec, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, err
	}
	return &iteratorCodec{aead: aead}, nil
}

func (c *iteratorCodec) encode(it iterator) string {
	overhead := len(iterPrefix) + iterNonceLen + iterTagLen
	ptLen := iteratorLen(len(it.Stream)) - overhead
	need := iterFixedLen + 3 + len(it.Account) + len(it.Region) + len(it.Stream)
	for ptLen < need {
		ptLen += 16
	}
	pt := make([]byte, 0, ptLen)
	pt = append(pt, iterVersion)
	pt = binary.BigEndian.AppendUint64(pt, uint64(it.IssuedMs))
	pt = binary.BigEndian.AppendUint64(pt, uint64(it.StreamCreatedMs))
	pt = binary.BigEndian.AppendUint32(pt, uint32(it.ShardIndex))
	pt = binary.BigEndian.AppendUint64(pt, it.Position)
	for _, s := range []string{it.Account, it.Region, it.Stream} {
		pt = append(pt, byte(len(s)))
		pt = append(pt, s...)
	}
	pt = pt[:ptLen] // zero padding (make zeroed the capacity)
	out := make([]byte, 0, overhead+ptLen)
	out = append(out, iterPrefix...)
	nonce := make([]byte, iterNonceLen)
	rand.Read(nonce)
	out = append(out, nonce...)
	out = c.aead.Seal(out, nonce, pt, iterPrefix)
	return base64.StdEncoding.EncodeToString(out)
}

var errBadIterator = errors.New("invalid iterator")

func (c *iteratorCodec) decode(s string) (iterator, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) < len(iterPrefix)+iterNonceLen+iterTagLen || string(raw[:8]) != string(iterPrefix) {
		return iterator{}, errBadIterator
	}
	nonce := raw[8 : 8+iterNonceLen]
	pt, err := c.aead.Open(nil, nonce, raw[8+iterNonceLen:], iterPrefix)
	if err != nil || len(pt) < iterFixedLen || (pt[0] != 1 && pt[0] != iterVersion) {
		return iterator{}, errBadIterator
	}
	it := iterator{
		IssuedMs:        int64(binary.BigEndian.Uint64(pt[1:])),
		StreamCreatedMs: int64(binary.BigEndian.Uint64(pt[9:])),
		ShardIndex:      int(binary.BigEndian.Uint32(pt[17:])),
		Position:        binary.BigEndian.Uint64(pt[21:]),
	}
	p := pt[iterFixedLen:]
	var strs [3]string
	for i := range strs {
		if len(p) < 1 || len(p) < 1+int(p[0]) {
			return iterator{}, errBadIterator
		}
		strs[i] = string(p[1 : 1+p[0]])
		p = p[1+p[0]:]
	}
	it.Account, it.Region, it.Stream = strs[0], strs[1], strs[2]
	return it, nil
}

// IteratorStreamARN returns the ARN of the stream a shard iterator reads, for
// authorization; ok is false for an iterator that does not decode.
func (s *Service) IteratorStreamARN(iter string) (string, bool) {
	it, err := s.iter.decode(iter)
	if err != nil {
		return "", false
	}
	return streamARN(it.Region, it.Account, it.Stream), true
}

// StreamARN returns the ARN of a stream name in a scope.
func (s *Service) StreamARN(sc Scope, name string) string {
	sc = s.scope(sc)
	return streamARN(sc.Region, sc.Account, name)
}

// tokenAD is the associated data of sealed NextTokens: a token can never
// be opened as an iterator, nor an iterator as a token.
var tokenAD = []byte("rheos next-token v1")

// SealToken seals an opaque pagination token (ListShards, ListStreams,
// ListStreamConsumers NextTokens) under the iterator secret: what a token
// names (a stream, an account, a position) cannot be read or forged by a
// client, so a token can only continue the listing it was issued for.
func (s *Service) SealToken(plain []byte) string {
	nonce := make([]byte, iterNonceLen)
	rand.Read(nonce)
	out := s.iter.aead.Seal(nonce, nonce, plain, tokenAD)
	return base64.RawURLEncoding.EncodeToString(out)
}

// OpenToken opens a token from SealToken; ok is false for anything else.
func (s *Service) OpenToken(tok string) ([]byte, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) < iterNonceLen+iterTagLen {
		return nil, false
	}
	pt, err := s.iter.aead.Open(nil, raw[:iterNonceLen], raw[iterNonceLen:], tokenAD)
	return pt, err == nil
}
