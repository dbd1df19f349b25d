// Package seqnum owns the Kinesis sequence number format: the 56-digit
// decimal numbers AWS returns, whose hexadecimal form ("version 2", as
// reverse-engineered by kinesalite from AWS responses) is
//
//	2 | shardCreateSecs (9 hex) | shardIndex low nibble (1) | counter (16) |
//	00 (2) | recordSecs (9) | shardIndex (8) | 2
//
// Within one shard, shardCreateSecs and shardIndex are fixed, so numbers
// compare in the order of their 64-bit counter. The counter's high 16 bits are
// reserved for an epoch (a fence generation in a clustered deployment), so a
// new owner always numbers above the old one. It imports only the standard
// library.
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
	lowBound  = new(big.Int).Lsh(big.NewInt(1), 185)                                  // 2^185
	highBound = new(big.Int).Mul(new(big.Int).Lsh(big.NewInt(1), 184), big.NewInt(3)) // 1.5 * 2^185
)

// Parse decodes a version-2 decimal sequence number.
func Parse(s string) (Parts, error) {
	if len(s) == 0 || len(s) > 130 {
		return Parts{}, ErrInvalid
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Parts{}, ErrInvalid
		}
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok || b.Cmp(lowBound) <= 0 || b.Cmp(highBound) >= 0 {
		return Parts{}, ErrInvalid
	}
	hex := b.Text(16)
	if len(hex) != 47 || hex[46] != '2' {
		return Parts{}, ErrInvalid
	}
	create, err1 := strconv.ParseUint(hex[1:10], 16, 64)
	counter, err2 := strconv.ParseUint(hex[11:27], 16, 64)
	rec, err3 := strconv.ParseUint(hex[29:38], 16, 64)
	shard, err4 := strconv.ParseUint(hex[38:46], 16, 32)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || hex[27:29] != "00" {
		return Parts{}, ErrInvalid
	}
	if counter>>63 != 0 {
		return Parts{}, ErrInvalid
	}
	return Parts{ShardCreateSecs: int64(create), ShardIndex: uint32(shard), Counter: counter, RecordSecs: int64(rec)}, nil
}
