// Package seqnum owns the Kinesis sequence number format: the decimal
// numbers (56 digits today) AWS returns and accepts. It imports only the
// standard library.
//
// # Layout
//
// Rheos issues AWS's current layout, "version 2" (reverse-engineered by
// kinesalite from AWS responses and checked by its tests recorded against
// AWS, helpers.assertSequenceNumber). In hexadecimal (47 digits, so the
// value lies strictly between 2^185 and 1.5·2^185):
//
//	2 | shardCreateSecs (9) | shardIndex low nibble (1) | counter (16) |
//	byte1 "00" (2) | recordSecs (9) | shardIndex (8) | version "2" (1)
//
// The counter's first hex digit is at most 7 (AWS refuses a larger one), so
// it carries 63 bits. Within one shard, shardCreateSecs and shardIndex are
// fixed, so numbers compare in the order of their counter.
//
// # The epoch (cluster seam)
//
// The counter's high 16 bits are reserved for an epoch (a fence generation
// in a clustered deployment): Counter = epoch<<EpochShift | n, so a new
// owner of a shard always numbers above the old one. Because the counter's
// top bit must be clear, an epoch is at most MaxEpoch (2^15-1); n has 48
// bits. A single-node server uses epoch 0: its counters are the record
// log's per-shard counters unchanged.
//
// # Versions accepted
//
// Decode reads every version AWS accepts, as kinesalite's parseSequence
// does: version 0 (a number below 2^129; a number below 2^124 is read as
// 2^124 plus it, which is how AWS reads "0" or "5"), version 1 and
// version 2 (numbers between 2^185 and 1.5·2^185, the version in the last
// hex digit). Versions 0 and 2 with a shard creation time at or after
// 16025175000 s, and version 2 with a counter whose first hex digit is
// above 7, are invalid; so is every other version and range.
//
// # Compatibility
//
// The issued layout has not changed since the first release: Format
// writes the same digits for the same stored counter, so every number a
// client holds still decodes to the same shard and counter and is
// accepted, and existing data directories open unchanged (numbers are
// derived from the stored counters, never stored). What changed in issue 11
// is decoding only: versions 0 and 1 are now read (before, only version 2
// was), a version-2 number may carry any byte1 (before: only "00"), and a
// version-2 number whose shard creation time is at or after 16025175000 s
// (year 2477) is now refused, as AWS refuses it; Rheos never issued one.
package seqnum

import (
	"errors"
	"math/big"
	"math/bits"
	"strconv"
)

// Parts are the fields encoded in a sequence number.
type Parts struct {
	ShardCreateSecs int64
	ShardIndex      uint32
	Counter         uint64
	RecordSecs      int64
}

// EpochShift is the bit position of the epoch inside Counter.
const EpochShift = 48

// MaxEpoch is the largest epoch a counter can carry: the counter's top bit
// must stay clear (AWS refuses a version-2 number whose counter starts with
// a hex digit above 7).
const MaxEpoch = 1<<(63-EpochShift) - 1

// MaxShardCreateSecs is the first shard creation time (seconds) AWS refuses
// in a version-0 or version-2 number (kinesalite: "Date too large").
const MaxShardCreateSecs = 16025175000

// ErrInvalid reports a string that is not a valid sequence number.
var ErrInvalid = errors.New("seqnum: invalid sequence number")

const maxSecs = 0xFFFFFFFFF // 9 hex digits

// Format returns the decimal sequence number for p. It builds the 188-bit
// value in three 64-bit limbs and converts it with 64-bit divisions, without
// allocation beyond the result (the hot path of every put).
func Format(p Parts) string {
	var buf [60]byte
	return string(AppendFormat(buf[:0], p))
}

// AppendFormat appends the decimal sequence number for p to dst.
func AppendFormat(dst []byte, p Parts) []byte {
	var v u192
	v.shiftIn(2, 4)
	v.shiftIn(uint64(p.ShardCreateSecs)&maxSecs, 36)
	v.shiftIn(uint64(p.ShardIndex&0xF), 4)
	v.shiftIn(p.Counter, 64)
	v.shiftIn(0, 8)
	v.shiftIn(uint64(p.RecordSecs)&maxSecs, 36)
	v.shiftIn(uint64(p.ShardIndex), 32)
	v.shiftIn(2, 4)
	// Split into base-1e19 chunks, least significant first.
	var chunks [4]uint64
	n := 0
	for !v.isZero() {
		chunks[n] = v.divmod(1e19)
		n++
	}
	var tmp [20]byte
	for i := n - 1; i >= 0; i-- {
		d := strconv.AppendUint(tmp[:0], chunks[i], 10)
		if i != n-1 {
			for pad := len(d); pad < 19; pad++ {
				dst = append(dst, '0')
			}
		}
		dst = append(dst, d...)
	}
	return dst
}

// u192 is an unsigned 192-bit integer, most significant limb first.
type u192 [3]uint64

func (v *u192) shiftIn(x uint64, n uint) {
	if n == 64 {
		v[0], v[1], v[2] = v[1], v[2], x
		return
	}
	v[0] = v[0]<<n | v[1]>>(64-n)
	v[1] = v[1]<<n | v[2]>>(64-n)
	v[2] = v[2]<<n | x&(1<<n-1)
}

func (v *u192) isZero() bool { return v[0]|v[1]|v[2] == 0 }

// divmod divides v by d in place and returns the remainder.
func (v *u192) divmod(d uint64) uint64 {
	var r uint64
	for i := range v {
		v[i], r = bits.Div64(r, v[i], d)
	}
	return r
}

var (
	pow124    = new(big.Int).Lsh(big.NewInt(1), 124)                                  // 2^124
	pow129    = new(big.Int).Lsh(big.NewInt(1), 129)                                  // 2^129: versions 0 lie below
	lowBound  = new(big.Int).Lsh(big.NewInt(1), 185)                                  // 2^185
	highBound = new(big.Int).Mul(new(big.Int).Lsh(big.NewInt(1), 184), big.NewInt(3)) // 1.5 * 2^185
)

// Number is a decoded sequence number of any version AWS accepts.
type Number struct {
	// Version is 0, 1 or 2.
	Version int
	// ShardCreateSecs is the shard's creation time (unix seconds).
	ShardCreateSecs int64
	// ShardIndex is the shard index as AWS reads it: versions 0 and 1
	// unsigned (16 and 32 bits), version 2 as a signed 32-bit number, so
	// hex 80000000 is -2147483648 ("It encodes shardId--02147483648").
	ShardIndex int64
	// Counter is the per-shard counter (version 2 only).
	Counter uint64
	// RecordSecs is the record's arrival time (unix seconds; versions 1 and
	// 2, zero for version 0).
	RecordSecs int64
}

// Decode reads a decimal sequence number of version 0, 1 or 2, with the
// checks AWS applies (see the package comment). It returns ErrInvalid for
// anything else.
func Decode(s string) (Number, error) {
	if len(s) == 0 || len(s) > 130 {
		return Number{}, ErrInvalid
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Number{}, ErrInvalid
		}
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return Number{}, ErrInvalid
	}
	if b.Cmp(pow124) < 0 {
		b.Add(b, pow124)
	}
	hex := b.Text(16)
	switch {
	case b.Cmp(pow129) < 0:
		return decodeV0(hex)
	case b.Cmp(lowBound) > 0 && b.Cmp(highBound) < 0:
		switch hex[len(hex)-1] {
		case '1':
			return decodeV1(hex)
		case '2':
			return decodeV2(hex)
		}
	}
	return Number{}, ErrInvalid
}

func hexField(hex string, from, to int) int64 {
	v, _ := strconv.ParseUint(hex[from:to], 16, 64) // hex is b.Text(16): always valid
	return int64(v)
}

// decodeV0 reads version 0: 1 | shardCreateSecs (9) | byte1 (2) | random (16) | shardIndex (4).
func decodeV0(hex string) (Number, error) {
	n := Number{Version: 0, ShardCreateSecs: hexField(hex, 1, 10), ShardIndex: hexField(hex, 28, 32)}
	if n.ShardCreateSecs >= MaxShardCreateSecs {
		return Number{}, ErrInvalid
	}
	return n, nil
}

// decodeV1 reads version 1: 2 | shardCreateSecs (9) | shardIndex nibble (1) | byte1 (2) |
// recordSecs (9) | random (14) | index (2) | shardIndex (8) | 1.
func decodeV1(hex string) (Number, error) {
	return Number{Version: 1, ShardCreateSecs: hexField(hex, 1, 10), RecordSecs: hexField(hex, 13, 22),
		ShardIndex: hexField(hex, 38, 46)}, nil
}

// decodeV2 reads version 2 (the layout Format writes).
func decodeV2(hex string) (Number, error) {
	if hex[11] > '7' {
		return Number{}, ErrInvalid // counter too high
	}
	n := Number{Version: 2, ShardCreateSecs: hexField(hex, 1, 10), Counter: uint64(hexField(hex, 11, 27)),
		RecordSecs: hexField(hex, 29, 38), ShardIndex: int64(int32(uint32(hexField(hex, 38, 46))))}
	if n.ShardCreateSecs >= MaxShardCreateSecs {
		return Number{}, ErrInvalid
	}
	return n, nil
}

// Parse decodes a version-2 sequence number of the kind Format writes (a
// non-negative shard index). Numbers of other versions, which Rheos never
// issues, are ErrInvalid: use Decode to read them.
func Parse(s string) (Parts, error) {
	n, err := Decode(s)
	if err != nil || n.Version != 2 || n.ShardIndex < 0 {
		return Parts{}, ErrInvalid
	}
	return Parts{ShardCreateSecs: n.ShardCreateSecs, ShardIndex: uint32(n.ShardIndex), Counter: n.Counter, RecordSecs: n.RecordSecs}, nil
}
