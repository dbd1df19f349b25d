package kpl

import (
	"bytes"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := []Record{{PartitionKey: "a", Data: []byte("one")}, {PartitionKey: "b", ExplicitHashKey: "123", Data: []byte("two")}, {PartitionKey: "a", Data: nil}}
	agg := Aggregate(in)
	if !bytes.HasPrefix(agg, Magic) {
		t.Fatal("no magic")
	}
	out, ok, err := Deaggregate(agg)
	if !ok || err != nil || len(out) != 3 {
		t.Fatalf("Deaggregate = %v %v %v", out, ok, err)
	}
	for i := range in {
		if out[i].PartitionKey != in[i].PartitionKey || out[i].ExplicitHashKey != in[i].ExplicitHashKey || !bytes.Equal(out[i].Data, in[i].Data) {
			t.Fatalf("record %d = %+v, want %+v", i, out[i], in[i])
		}
	}
	// A plain record, and a damaged checksum, are not aggregated.
	if _, ok, _ := Deaggregate([]byte("plain")); ok {
		t.Fatal("plain record taken as aggregated")
	}
	agg[len(agg)-1] ^= 1
	if _, ok, _ := Deaggregate(agg); ok {
		t.Fatal("bad checksum accepted")
	}
}

func FuzzDeaggregate(f *testing.F) {
	f.Add(Aggregate([]Record{{PartitionKey: "k", Data: []byte("d")}}))
	f.Add([]byte("plain"))
	f.Add(append(append([]byte{}, Magic...), make([]byte, 16)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, ok, err := Deaggregate(data)
		if !ok || err != nil {
			return
		}
		// Whatever decodes re-encodes to records that decode the same.
		again, ok, err := Deaggregate(Aggregate(recs))
		if !ok || err != nil || len(again) != len(recs) {
			t.Fatalf("re-aggregation changed the records: %v %v", ok, err)
		}
	})
}
