package datastream

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
)

func testCodec(t *testing.T) *iteratorCodec {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	c, err := newIteratorCodec(key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestIteratorShape checks AWS's iterator shape for every stream name
// length (kinesalite's helpers.assertShardIterator and db/index.js: canonical
// base64, the first eight bytes 0000000000000001, 152 +
// floor((len+2)/16)*16 bytes) and that each round-trips.
func TestIteratorShape(t *testing.T) {
	c := testCodec(t)
	for n := 1; n <= 128; n++ {
		it := iterator{IssuedMs: 1764300000123, StreamCreatedMs: 1764300000000, ShardIndex: 2147483647, Position: 1<<63 - 1,
			Account: "123456789012", Region: "ap-southeast-2", Stream: strings.Repeat("s", n)}
		s := c.encode(it)
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || base64.StdEncoding.EncodeToString(raw) != s {
			t.Fatalf("name length %d: not canonical base64", n)
		}
		if want := 152 + (n+2)/16*16; len(raw) != want {
			t.Fatalf("name length %d: %d bytes, want %d", n, len(raw), want)
		}
		if !bytes.Equal(raw[:8], []byte{0, 0, 0, 0, 0, 0, 0, 1}) {
			t.Fatalf("prefix %x", raw[:8])
		}
		if len(s) > 512 {
			t.Fatalf("name length %d: %d characters, over GetRecords' 512", n, len(s))
		}
		got, err := c.decode(s)
		if err != nil || got != it {
			t.Fatalf("name length %d: decode = %+v, %v", n, got, err)
		}
	}
}

// TestIteratorLongScopeGrows: an account and region longer than AWS's make
// the iterator longer in 16-byte steps, never truncated.
func TestIteratorLongScopeGrows(t *testing.T) {
	c := testCodec(t)
	it := iterator{Account: strings.Repeat("a", 60), Region: strings.Repeat("r", 60), Stream: strings.Repeat("s", 128)}
	s := c.encode(it)
	raw, _ := base64.StdEncoding.DecodeString(s)
	if (len(raw)-152)%16 != 0 || len(s) > 512 {
		t.Fatalf("%d bytes, %d characters", len(raw), len(s))
	}
	if got, err := c.decode(s); err != nil || got != it {
		t.Fatalf("decode = %+v, %v", got, err)
	}
}

// TestIteratorTamperProof: any changed byte, another key, a truncated or
// non-canonical iterator is refused.
func TestIteratorTamperProof(t *testing.T) {
	c := testCodec(t)
	s := c.encode(iterator{IssuedMs: 1, Account: "000000000000", Region: "us-east-1", Stream: "s"})
	raw, _ := base64.StdEncoding.DecodeString(s)
	for i := range raw {
		b := bytes.Clone(raw)
		b[i] ^= 0x40
		if _, err := c.decode(base64.StdEncoding.EncodeToString(b)); err == nil {
			t.Fatalf("byte %d flipped: accepted", i)
		}
	}
	if _, err := testCodec(t).decode(s); err == nil {
		t.Fatal("another key opened the iterator")
	}
	if _, err := c.decode(base64.StdEncoding.EncodeToString(raw[:len(raw)-1])); err == nil {
		t.Fatal("truncated iterator accepted")
	}
	if _, err := c.decode(strings.TrimRight(s, "=")); err == nil && strings.HasSuffix(s, "=") {
		t.Fatal("unpadded base64 accepted")
	}
}

// TestIteratorVersion1StillOpens: an iterator of the format before issue
// 11 (version 1, no padding) still decodes, so iterators held across an
// upgrade work until they expire.
func TestIteratorVersion1StillOpens(t *testing.T) {
	c := testCodec(t)
	want := iterator{IssuedMs: 5, StreamCreatedMs: 6, ShardIndex: 7, Position: 8, Account: "000000000000", Region: "us-east-1", Stream: "old"}
	pt := []byte{1}
	pt = binary.BigEndian.AppendUint64(pt, uint64(want.IssuedMs))
	pt = binary.BigEndian.AppendUint64(pt, uint64(want.StreamCreatedMs))
	pt = binary.BigEndian.AppendUint32(pt, uint32(want.ShardIndex))
	pt = binary.BigEndian.AppendUint64(pt, want.Position)
	for _, s := range []string{want.Account, want.Region, want.Stream} {
		pt = append(append(pt, byte(len(s))), s...)
	}
	nonce := make([]byte, 12)
	rand.Read(nonce)
	out := append(append([]byte(nil), iterPrefix...), nonce...)
	out = c.aead.Seal(out, nonce, pt, iterPrefix)
	got, err := c.decode(base64.StdEncoding.EncodeToString(out))
	if err != nil || got != want {
		t.Fatalf("version 1: %+v, %v", got, err)
	}
}

func FuzzIteratorDecode(f *testing.F) {
	key := make([]byte, 32)
	c, _ := newIteratorCodec(key)
	f.Add(c.encode(iterator{Account: "000000000000", Region: "us-east-1", Stream: "s"}))
	f.Add("AAAAAAAAAAE=")
	f.Fuzz(func(t *testing.T, s string) {
		it, err := c.decode(s)
		if err != nil {
			return
		}
		if got, err := c.decode(c.encode(it)); err != nil || got != it {
			t.Fatalf("re-encode of %+v: %+v, %v", it, got, err)
		}
	})
}
