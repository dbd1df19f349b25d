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
	"fmt"
	"math/big"
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

// Format returns the decimal sequence number for p.
func Format(p Parts) string {
	hex := fmt.Sprintf("2%09x%01x%016x00%09x%08x2",
		uint64(p.ShardCreateSecs)&maxSecs, p.ShardIndex&0xF, p.Counter,
		uint64(p.RecordSecs)&maxSecs, p.ShardIndex)
	b, _ := new(big.Int).SetString(hex, 16)
	return b.String()
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
