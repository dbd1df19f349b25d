package loadtest

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
)

// keyLen is the length of every partition key: 32 hex characters, so that a
// PutRecord body's key can be swapped in place.
const keyLen = 32

// randomKeys returns n random partition keys of keyLen characters. MD5 of
// random keys spreads records evenly over the shards' hash ranges.
func randomKeys(rng *rand.Rand, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		var b [keyLen / 2]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		keys[i] = hex.EncodeToString(b[:])
	}
	return keys
}

// randomPayload returns size random bytes; the first headerSize are
// overwritten by every request.
func randomPayload(rng *rand.Rand, size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

// template is a pre-encoded request body whose records' headers, and for
// PutRecord the partition key, are patched in place before each request.
type template struct {
	body    []byte
	dataOff []int // offset in body of each record's base64 Data
	keyOff  int   // PutRecord: offset of the partition key; -1 for PutRecords
}

// patch writes header h, with counter h.counter+i, over record i's Data.
func (t *template) patch(h header) {
	for i, off := range t.dataOff {
		r := h
		r.counter = h.counter + uint64(i)
		r.putBase64(t.body[off:])
	}
}

// setKey replaces a PutRecord body's partition key (keyLen characters).
func (t *template) setKey(key string) {
	copy(t.body[t.keyOff:t.keyOff+keyLen], key)
}

// putRecordsTemplate encodes
//
//	{"StreamName":S,"Records":[{"Data":"…","PartitionKey":"…"},…]}
//
// with one record per key, each carrying payload.
func putRecordsTemplate(stream string, payload []byte, keys []string) *template {
	name, _ := json.Marshal(stream)
	data := base64.StdEncoding.EncodeToString(payload)
	t := &template{keyOff: -1}
	b := append([]byte(`{"StreamName":`), name...)
	b = append(b, `,"Records":[`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Data":"`...)
		t.dataOff = append(t.dataOff, len(b))
		b = append(b, data...)
		b = append(b, `","PartitionKey":"`...)
		b = append(b, k...)
		b = append(b, `"}`...)
	}
	t.body = append(b, "]}"...)
	return t
}

// putRecordTemplate encodes {"StreamName":S,"PartitionKey":"…","Data":"…"}.
func putRecordTemplate(stream string, payload []byte, key string) *template {
	name, _ := json.Marshal(stream)
	t := &template{}
	b := append([]byte(`{"StreamName":`), name...)
	b = append(b, `,"PartitionKey":"`...)
	t.keyOff = len(b)
	b = append(b, key...)
	b = append(b, `","Data":"`...)
	t.dataOff = []int{len(b)}
	b = base64.StdEncoding.AppendEncode(b, payload)
	t.body = append(b, `"}`...)
	return t
}
