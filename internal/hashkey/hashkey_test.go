package hashkey

import "testing"

func TestSplitBoundaries(t *testing.T) {
	// For 3 shards the first boundary is ...070484/...070485 (kinesalite and
	// kinesis-mock agree, recorded against AWS).
	r := Split(3)
	if got := r[0].End.String(); got != "113427455640312821154458202477256070484" {
		t.Fatalf("3-shard boundary = %s", got)
	}
	if got := r[1].Start.String(); got != "113427455640312821154458202477256070485" {
		t.Fatalf("3-shard second start = %s", got)
	}
	if r[2].End != Max {
		t.Fatalf("last range must end at 2^128-1")
	}
	if got := Split(1)[0].End.String(); got != "340282366920938463463374607431768211455" {
		t.Fatalf("max = %s", got)
	}
}

func TestParseAndPartitionKey(t *testing.T) {
	k, err := Parse("340282366920938463463374607431768211455")
	if err != nil || k != Max {
		t.Fatalf("Parse max: %v %v", k, err)
	}
	if _, err := Parse("340282366920938463463374607431768211456"); err == nil {
		t.Fatal("2^128 accepted")
	}
	// md5("a") = 0cc175b9c0f1b6a831c399e269772661
	k = FromPartitionKey("a")
	if k.Hi != 0x0cc175b9c0f1b6a8 || k.Lo != 0x31c399e269772661 {
		t.Fatalf("md5 key = %x %x", k.Hi, k.Lo)
	}
	if s := k.String(); s != "16955237001963240173058271559858726497" {
		t.Fatalf("decimal = %s", s)
	}
}
