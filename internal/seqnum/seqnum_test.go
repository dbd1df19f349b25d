package seqnum

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestRoundTripAndShape(t *testing.T) {
	p := Parts{ShardCreateSecs: 1764300000, ShardIndex: 3, Counter: 42, RecordSecs: 1764300123}
	s := Format(p)
	if len(s) != 56 {
		t.Fatalf("len = %d (%s)", len(s), s)
	}
	got, err := Parse(s)
	if err != nil || got != p {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
	// kinesalite's assertSequenceNumber shape, recorded against AWS.
	b := Format(Parts{ShardCreateSecs: 1764300000, ShardIndex: 1, Counter: 5, RecordSecs: 1764300001})
	if _, err := Parse(b); err != nil {
		t.Fatal(err)
	}
	_ = regexp.MustCompile(`^[0-9]{56}$`)
}

func TestOrderFollowsCounter(t *testing.T) {
	a := Format(Parts{ShardCreateSecs: 100, ShardIndex: 0, Counter: 9, RecordSecs: 500})
	b := Format(Parts{ShardCreateSecs: 100, ShardIndex: 0, Counter: 10, RecordSecs: 400})
	if !(len(a) == len(b) && a < b) {
		t.Fatalf("%s !< %s", a, b)
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"", "abc", "0", "1", "-5", "99999999999999999999999999999999999999999999999999999999999999"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Format(Parts{ShardCreateSecs: 1, ShardIndex: 2, Counter: 3, RecordSecs: 4}))
	f.Add("0")
	f.Add("49590338271490256608559692538361571095921575989136588898")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		if q, err := Parse(Format(p)); err != nil || q != p {
			t.Fatalf("round trip of %q: %+v vs %+v (%v)", s, p, q, err)
		}
	})
}

// formatBig is the reference implementation: the hexadecimal layout read
// with math/big.
func formatBig(p Parts) string {
	hex := fmt.Sprintf("2%09x%01x%016x00%09x%08x2",
		uint64(p.ShardCreateSecs)&maxSecs, p.ShardIndex&0xF, p.Counter,
		uint64(p.RecordSecs)&maxSecs, p.ShardIndex)
	b, _ := new(big.Int).SetString(hex, 16)
	return b.String()
}

func TestFormatMatchesBigInt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []Parts{{}, {ShardCreateSecs: maxSecs, ShardIndex: ^uint32(0), Counter: ^uint64(0), RecordSecs: maxSecs}}
	for i := 0; i < 10000; i++ {
		cases = append(cases, Parts{ShardCreateSecs: int64(r.Uint64() & maxSecs), ShardIndex: r.Uint32(), Counter: r.Uint64() >> (r.UintN(64)), RecordSecs: int64(r.Uint64() & maxSecs)})
	}
	for _, p := range cases {
		if got, want := Format(p), formatBig(p); got != want {
			t.Fatalf("Format(%+v) = %s, want %s", p, got, want)
		}
	}
}

func BenchmarkFormat(b *testing.B) {
	p := Parts{ShardCreateSecs: 1764300000, ShardIndex: 3, Counter: 123456789, RecordSecs: 1764300123}
	buf := make([]byte, 0, 64)
	for i := 0; i < b.N; i++ {
		p.Counter++
		buf = AppendFormat(buf[:0], p)
	}
}

// fromHex returns the decimal form of a hexadecimal number.
func fromHex(h string) string {
	b, ok := new(big.Int).SetString(h, 16)
	if !ok {
		panic(h)
	}
	return b.String()
}

// TestDecodeVersions ports the sequence numbers of kinesalite's
// putRecord.js and getShardIterator.js tests (recorded against AWS) and
// the versions of its db/index.js parseSequence.
func TestDecodeVersions(t *testing.T) {
	ok := []struct {
		name, in string
		want     Number
	}{
		// getShardIterator.js "should return InternalFailure if using small
		// (old?) sequence number": "0" is a version-0 number of shard 0.
		{"zero", "0", Number{Version: 0}},
		// "should return InvalidArgumentException if shard mismatches
		// simple sequence": "5" encodes shardId-000000000005.
		{"five", "5", Number{Version: 0, ShardIndex: 5}},
		// putRecord.js "should work with SequenceNumberForOrdering all 0".
		{"v2 all 0", fromHex("20000000000000000000000000000000000000000000002"), Number{Version: 2}},
		// "should work with SequenceNumberForOrdering all 0 with version 1".
		{"v1 all 0", fromHex("20000000000000000000000000000000000000000000001"), Number{Version: 1}},
		// "should work with SequenceNumberForOrdering if 8 near end";
		// getShardIterator.js: "It encodes shardId--02147483648".
		{"8 near end", fromHex("20000000000000000000000000000000000000800000002"), Number{Version: 2, ShardIndex: -2147483648}},
		{"issued", Format(Parts{ShardCreateSecs: 1764300000, ShardIndex: 17, Counter: 42, RecordSecs: 1764300123}),
			Number{Version: 2, ShardCreateSecs: 1764300000, ShardIndex: 17, Counter: 42, RecordSecs: 1764300123}},
	}
	for _, tt := range ok {
		got, err := Decode(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("%s: Decode(%s) = %+v, %v; want %+v", tt.name, tt.in, got, err, tt.want)
		}
	}
	bad := []struct{ name, hex string }{
		{"version 0 in SequenceNumberForOrdering", "20000000000000000000000000000000000000000000000"},
		{"version 4", "20000000000000000000000000000000000000000000004"},
		{"version 3", "20000000000000000000000000000000000000000000003"},
		{"initial 3", "30000000000000000000000000000000000000000000001"},
		{"initial 1", "1ffffffffff7fffffffffffffff000000000007fffffff2"},
		{"8 in index", "20000000000800000000000000000000000000000000002"},
		{"large date", "13bb2cc3d80000000000000000000000"},
		{"all f", "2ffffffffff7fffffffffffffff000000000007fffffff2"},
	}
	for _, tt := range bad {
		if n, err := Decode(fromHex(tt.hex)); err == nil {
			t.Errorf("%s: Decode accepted %s as %+v", tt.name, tt.hex, n)
		}
	}
	if got := fromHex("13bb2cc3d80000000000000000000000"); got != "26227199374822427428162556223570313216" {
		t.Fatalf("large date number %s", got) // the decimal kinesalite's message quotes
	}
	for _, s := range []string{"", "-1", "1e5", "12a", strings.Repeat("9", 131)} {
		if _, err := Decode(s); err == nil {
			t.Errorf("Decode(%q) accepted", s)
		}
	}
	// A version-2 number with another byte1 (AWS leaves it unexplained)
	// decodes as well.
	h := fmt.Sprintf("2%09x%01x%016x%02x%09x%08x2", 1764300000, 3, 9, 0xab, 1764300001, 3)
	if n, err := Decode(fromHex(h)); err != nil || n.Counter != 9 || n.ShardIndex != 3 || n.RecordSecs != 1764300001 {
		t.Errorf("byte1 ab: %+v, %v", n, err)
	}
}

// TestEpochFitsTheLayout shows the cluster seam inside the version-2
// layout: every epoch up to MaxEpoch decodes and orders above the previous
// one; one more would set the counter's top bit, which AWS refuses.
func TestEpochFitsTheLayout(t *testing.T) {
	var prev *big.Int
	for _, e := range []uint64{0, 1, 2, MaxEpoch} {
		for _, n := range []uint64{0, 1, 1<<EpochShift - 1} {
			s := Format(Parts{ShardCreateSecs: 1764300000, ShardIndex: 1, Counter: e<<EpochShift | n, RecordSecs: 1764300001})
			if len(s) != 56 {
				t.Fatalf("epoch %d counter %d: %d digits", e, n, len(s))
			}
			p, err := Parse(s)
			if err != nil || p.Counter>>EpochShift != e {
				t.Fatalf("epoch %d: Parse = %+v, %v", e, p, err)
			}
			b, _ := new(big.Int).SetString(s, 10)
			if prev != nil && b.Cmp(prev) <= 0 {
				t.Fatalf("epoch %d counter %d does not order above the previous number", e, n)
			}
			prev = b
		}
	}
	s := Format(Parts{ShardCreateSecs: 1764300000, Counter: (MaxEpoch + 1) << EpochShift})
	if _, err := Decode(s); err == nil {
		t.Fatal("an epoch above MaxEpoch decoded")
	}
}
