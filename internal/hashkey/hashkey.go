// Package hashkey owns the 128-bit hash key space of Kinesis: the MD5 hash of
// a partition key, decimal ExplicitHashKey parsing, and the even division of
// the key space into shard ranges. It imports only the standard library.
package hashkey

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"math/big"
	"math/bits"
)

// Key is an unsigned 128-bit hash key.
type Key struct{ Hi, Lo uint64 }

// Max is 2^128 - 1, the largest hash key.
var Max = Key{^uint64(0), ^uint64(0)}

// FromPartitionKey returns the MD5 of the UTF-8 partition key read as a
// big-endian unsigned 128-bit integer, as Kinesis does.
func FromPartitionKey(pk string) Key {
	sum := md5.Sum([]byte(pk))
	return Key{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
}

// ErrRange means a decimal value outside [0, 2^128-1] or not a number.
var ErrRange = errors.New("hashkey: value out of range")

// Parse parses a decimal hash key.
func Parse(s string) (Key, error) {
	if s == "" {
		return Key{}, ErrRange
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Key{}, ErrRange
		}
	}
	if len(s) <= 19 { // fits in uint64 fast path
		var v uint64
		for i := 0; i < len(s); i++ {
			v = v*10 + uint64(s[i]-'0')
		}
		return Key{0, v}, nil
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok || b.Sign() < 0 || b.BitLen() > 128 {
		return Key{}, ErrRange
	}
	var buf [16]byte
	b.FillBytes(buf[:])
	return Key{binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:])}, nil
}

// String returns the decimal form.
func (k Key) String() string {
	if k.Hi == 0 {
		return new(big.Int).SetUint64(k.Lo).String()
	}
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], k.Hi)
	binary.BigEndian.PutUint64(buf[8:], k.Lo)
	return new(big.Int).SetBytes(buf[:]).String()
}

// Cmp compares k and o: -1, 0 or +1.
func (k Key) Cmp(o Key) int {
	switch {
	case k.Hi < o.Hi:
		return -1
	case k.Hi > o.Hi:
		return 1
	case k.Lo < o.Lo:
		return -1
	case k.Lo > o.Lo:
		return 1
	}
	return 0
}

// Add returns k + o (mod 2^128).
func (k Key) Add(o Key) Key {
	lo, c := bits.Add64(k.Lo, o.Lo, 0)
	hi, _ := bits.Add64(k.Hi, o.Hi, c)
	return Key{hi, lo}
}

// Sub returns k - o (mod 2^128).
func (k Key) Sub(o Key) Key {
	lo, b := bits.Sub64(k.Lo, o.Lo, 0)
	hi, _ := bits.Sub64(k.Hi, o.Hi, b)
	return Key{hi, lo}
}

// Range is an inclusive range of hash keys.
type Range struct{ Start, End Key }

// Contains reports whether k lies in r.
func (r Range) Contains(k Key) bool { return r.Start.Cmp(k) <= 0 && k.Cmp(r.End) <= 0 }

// Split divides the key space into n contiguous ranges: range i starts at
// i*floor(2^128/n) and the last range ends at 2^128-1.
func Split(n int) []Range {
	if n <= 0 {
		return nil
	}
	two128 := new(big.Int).Lsh(big.NewInt(1), 128)
	step := new(big.Int).Div(two128, big.NewInt(int64(n)))
	out := make([]Range, n)
	for i := 0; i < n; i++ {
		start := new(big.Int).Mul(step, big.NewInt(int64(i)))
		end := new(big.Int).Sub(new(big.Int).Add(start, step), big.NewInt(1))
		if i == n-1 {
			end = new(big.Int).Sub(two128, big.NewInt(1))
		}
		out[i] = Range{fromBig(start), fromBig(end)}
	}
	return out
}

func fromBig(b *big.Int) Key {
	var buf [16]byte
	b.FillBytes(buf[:])
	return Key{binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:])}
}
