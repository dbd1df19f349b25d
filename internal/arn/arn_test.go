package arn

import "testing"

func TestParseRoundTrip(t *testing.T) {
	for _, s := range []string{
		"arn:aws:kinesis:us-east-1:111122223333:stream/orders",
		"arn:aws:kinesis:us-east-1:111122223333:stream/orders/consumer/c:1700000000",
		"arn:aws:firehose:eu-west-1:111122223333:deliverystream/d",
		"arn:aws:lambda:us-east-1:111122223333:function:f:1",
		"arn:aws:iam::111122223333:user/app",
		"arn:aws-cn:kinesis:cn-north-1:111122223333:stream/x",
	} {
		a, ok := Parse(s)
		if !ok || a.String() != s {
			t.Errorf("%s: %+v %v", s, a, ok)
		}
	}
	for _, s := range []string{"", "arn", "arn:aws:kinesis:us-east-1:111122223333", "arn:aws::r:a:x", "nra:aws:kinesis:r:a:stream/x", "arn:aws:kinesis:r:a:"} {
		if a, ok := Parse(s); ok {
			t.Errorf("%q parsed as %+v", s, a)
		}
	}
	a := New("kinesis", Scope{Account: "111122223333", Region: "us-east-1"}, "stream/orders")
	if a.String() != "arn:aws:kinesis:us-east-1:111122223333:stream/orders" || a.Scope() != (Scope{"111122223333", "us-east-1"}) {
		t.Errorf("New: %v", a)
	}
	if name, ok := a.CutResource("kinesis", "stream/"); !ok || name != "orders" {
		t.Errorf("CutResource: %q %v", name, ok)
	}
	if _, ok := a.CutResource("firehose", "stream/"); ok {
		t.Error("CutResource matched another service")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("arn:aws:kinesis:us-east-1:111122223333:stream/orders")
	f.Add("arn:::::")
	f.Fuzz(func(t *testing.T, s string) {
		if a, ok := Parse(s); ok && a.String() != s {
			t.Fatalf("%q round-trips to %q", s, a.String())
		}
	})
}
