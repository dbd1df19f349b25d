package seqnum

import (
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
