package seqnum

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
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
