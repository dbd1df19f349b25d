// Package kpl owns the Kinesis Producer Library's aggregated record format:
//
//	magic f3 89 9a c2 | protobuf AggregatedRecord | MD5 of the protobuf (16 bytes)
//
//	message AggregatedRecord {
//	  repeated string partition_key_table     = 1;
//	  repeated string explicit_hash_key_table = 2;
//	  repeated Record records                 = 3;
//	}
//	message Record {
//	  required uint64 partition_key_index     = 1;
//	  optional uint64 explicit_hash_key_index = 2;
//	  required bytes  data                    = 3;
//	  repeated Tag    tags                    = 4; // ignored
//	}
//
// Streams store aggregated records as sent (as AWS does); consumers inside
// Rheos (rheos tail) de-aggregate them into user records numbered by
// sub-sequence. The package imports only the standard library.
package kpl

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
)

// Magic starts every aggregated record.
var Magic = []byte{0xf3, 0x89, 0x9a, 0xc2}

// Record is one user record inside an aggregated record.
type Record struct {
	PartitionKey    string
	ExplicitHashKey string
	Data            []byte
}

var errFormat = errors.New("kpl: malformed aggregated record")

// IsAggregated reports whether data has the aggregated framing with a
// matching checksum.
func IsAggregated(data []byte) bool {
	if len(data) < len(Magic)+md5.Size || !bytes.Equal(data[:4], Magic) {
		return false
	}
	body := data[4 : len(data)-md5.Size]
	sum := md5.Sum(body)
	return bytes.Equal(sum[:], data[len(data)-md5.Size:])
}

// Deaggregate returns the user records of an aggregated record. ok is false
// when data is not an aggregated record (a plain record: use it as is).
func Deaggregate(data []byte) (recs []Record, ok bool, err error) {
	if !IsAggregated(data) {
		return nil, false, nil
	}
	body := data[4 : len(data)-md5.Size]
	var pkTable, ehkTable []string
	type raw struct {
		pk, ehk uint64
		hasEHK  bool
		data    []byte
		hasPK   bool
		hasData bool
	}
	var raws []raw
	err = fields(body, func(num int, wire int, v uint64, b []byte) error {
		if wire != 2 {
			return nil // unknown scalar: skip
		}
		switch num {
		case 1:
			pkTable = append(pkTable, string(b))
		case 2:
			ehkTable = append(ehkTable, string(b))
		case 3:
			var r raw
			if err := fields(b, func(num int, wire int, v uint64, b []byte) error {
				switch {
				case num == 1 && wire == 0:
					r.pk, r.hasPK = v, true
				case num == 2 && wire == 0:
					r.ehk, r.hasEHK = v, true
				case num == 3 && wire == 2:
					r.data, r.hasData = b, true
				}
				return nil
			}); err != nil {
				return err
			}
			if !r.hasPK || !r.hasData {
				return errFormat
			}
			raws = append(raws, r)
		}
		return nil
	})
	if err != nil {
		return nil, true, err
	}
	recs = make([]Record, len(raws))
	for i, r := range raws {
		if r.pk >= uint64(len(pkTable)) || r.hasEHK && r.ehk >= uint64(len(ehkTable)) {
			return nil, true, errFormat
		}
		recs[i] = Record{PartitionKey: pkTable[r.pk], Data: r.data}
		if r.hasEHK {
			recs[i].ExplicitHashKey = ehkTable[r.ehk]
		}
	}
	return recs, true, nil
}

// fields walks a protobuf message, calling fn for each field: v is the
// varint value (wire type 0), b the bytes (wire type 2).
func fields(b []byte, fn func(num, wire int, v uint64, b []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errFormat
		}
		b = b[n:]
		num, wire := int(key>>3), int(key&7)
		if num == 0 {
			return errFormat
		}
		switch wire {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return errFormat
			}
			b = b[n:]
			if err := fn(num, wire, v, nil); err != nil {
				return err
			}
		case 1:
			if len(b) < 8 {
				return errFormat
			}
			b = b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errFormat
			}
			v := b[n : n+int(l)]
			b = b[n+int(l):]
			if err := fn(num, wire, 0, v); err != nil {
				return err
			}
		case 5:
			if len(b) < 4 {
				return errFormat
			}
			b = b[4:]
		default:
			return errFormat
		}
	}
	return nil
}

// Aggregate encodes records in the aggregated format (as the KPL does).
func Aggregate(recs []Record) []byte {
	var body []byte
	pkIdx, ehkIdx := map[string]uint64{}, map[string]uint64{}
	var pks, ehks []string
	for _, r := range recs {
		if _, ok := pkIdx[r.PartitionKey]; !ok {
			pkIdx[r.PartitionKey] = uint64(len(pks))
			pks = append(pks, r.PartitionKey)
		}
		if r.ExplicitHashKey != "" {
			if _, ok := ehkIdx[r.ExplicitHashKey]; !ok {
				ehkIdx[r.ExplicitHashKey] = uint64(len(ehks))
				ehks = append(ehks, r.ExplicitHashKey)
			}
		}
	}
	bytesField := func(dst []byte, num int, v []byte) []byte {
		dst = binary.AppendUvarint(dst, uint64(num<<3|2))
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		return append(dst, v...)
	}
	for _, pk := range pks {
		body = bytesField(body, 1, []byte(pk))
	}
	for _, e := range ehks {
		body = bytesField(body, 2, []byte(e))
	}
	for _, r := range recs {
		var m []byte
		m = binary.AppendUvarint(m, 1<<3|0)
		m = binary.AppendUvarint(m, pkIdx[r.PartitionKey])
		if r.ExplicitHashKey != "" {
			m = binary.AppendUvarint(m, 2<<3|0)
			m = binary.AppendUvarint(m, ehkIdx[r.ExplicitHashKey])
		}
		m = bytesField(m, 3, r.Data)
		body = bytesField(body, 3, m)
	}
	sum := md5.Sum(body)
	out := append(append([]byte{}, Magic...), body...)
	return append(out, sum[:]...)
}
