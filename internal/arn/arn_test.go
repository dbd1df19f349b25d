package arn

import "testing"

func TestParseRoundTrip(t *testing.T) {
	for _, s := range []string{
		"arn:aws:kinesis:us-east-1:111122223333:stream/orders",
		"arn:aws:kinesis:us-east-1:111122223333:stream/orders/consumer/c:1700000000",
		"arn:aws:firehose:eu-west-1:111122223333:deliverystream/d",
		"arn:aws:lambda:us-east-1:111122223333:function:f:1",
		"arn:aws:iam::111122223333:user/app",
	} {
		a, ok := Parse(s)
		if !ok || a.String() != s {
			t.Errorf("%s: %+v %v", s, a, ok)
		}
	}
	for _, s := range []string{"", "arn", "arn:aws:kinesis:us-east-1:111122223333", "arn:aws::r:a:x", "nra:aws:kinesis:r:a:stream/x", "arn:aws:kinesis:r:a:",
		// Foreign partitions name nothing here (issue 20: arn:aws-cn:... slipped
		// past a Deny written for arn:aws:...).
		"arn:aws-cn:kinesis:cn-north-1:111122223333:stream/x", "arn:aws-us-gov:kinesis:us-gov-west-1:111122223333:stream/x",
		"arn:awsX:kinesis:us-east-1:111122223333:stream/x", "arn:AWS:kinesis:us-east-1:111122223333:stream/x"} {
		if a, ok := Parse(s); ok {
			t.Errorf("%q parsed as %+v", s, a)
		}
	}
	if p, ok := ForeignPartition("arn:aws-cn:kinesis:r:1:stream/x"); !ok || p != "aws-cn" {
		t.Errorf("ForeignPartition: %q %v", p, ok)
	}
	if _, ok := ForeignPartition("arn:aws:kinesis:r:1:stream/x"); ok {
		t.Error("ForeignPartition: aws is ours")
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
