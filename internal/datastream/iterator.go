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
// node that shares the secret. Layout (before base64):
//
//	00 00 00 00 00 00 00 01 | nonce (12) | GCM(plaintext) + tag (16)
//
// plaintext: version u8 | issuedMs i64 | streamCreatedMs i64 | shardIndex u32 |
// position u64 | account, region, stream name (u8 length + bytes each).
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

var iterPrefix = []byte{0, 0, 0, 0, 0, 0, 0, 1}

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
	pt := make([]byte, 0, 64+len(it.Stream))
	pt = append(pt, 1)
	pt = binary.BigEndian.AppendUint64(pt, uint64(it.IssuedMs))
	pt = binary.BigEndian.AppendUint64(pt, uint64(it.StreamCreatedMs))
	pt = binary.BigEndian.AppendUint32(pt, uint32(it.ShardIndex))
	pt = binary.BigEndian.AppendUint64(pt, it.Position)
	for _, s := range []string{it.Account, it.Region, it.Stream} {
		pt = append(pt, byte(len(s)))
		pt = append(pt, s...)
	}
	out := make([]byte, 0, len(iterPrefix)+12+len(pt)+16)
	out = append(out, iterPrefix...)
	nonce := make([]byte, 12)
	rand.Read(nonce)
	out = append(out, nonce...)
	out = c.aead.Seal(out, nonce, pt, iterPrefix)
	return base64.StdEncoding.EncodeToString(out)
}

var errBadIterator = errors.New("invalid iterator")

func (c *iteratorCodec) decode(s string) (iterator, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) < len(iterPrefix)+12+16 || string(raw[:8]) != string(iterPrefix) {
		return iterator{}, errBadIterator
	}
	nonce := raw[8:20]
	pt, err := c.aead.Open(nil, nonce, raw[20:], iterPrefix)
	if err != nil || len(pt) < 29 || pt[0] != 1 {
		return iterator{}, errBadIterator
	}
	it := iterator{
		IssuedMs:        int64(binary.BigEndian.Uint64(pt[1:])),
		StreamCreatedMs: int64(binary.BigEndian.Uint64(pt[9:])),
		ShardIndex:      int(binary.BigEndian.Uint32(pt[17:])),
		Position:        binary.BigEndian.Uint64(pt[21:]),
	}
	p := pt[29:]
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
