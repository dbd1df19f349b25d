package iampolicy

import "testing"

func TestEvaluate(t *testing.T) {
	id, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"kinesis:Put*","Resource":"arn:aws:kinesis:*:111122223333:stream/orders-*"},
		{"Effect":"Allow","Action":["kinesis:Get*","kinesis:DescribeStream*"],"Resource":"*"},
		{"Effect":"Deny","Action":"kinesis:*","Resource":"arn:aws:kinesis:*:*:stream/orders-secret"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req := func(action, res string) Request {
		return Request{Action: action, Resource: res, Principal: "arn:aws:iam::111122223333:user/alice", Account: "111122223333"}
	}
	for _, c := range []struct {
		action, res string
		want        Decision
	}{
		{"kinesis:PutRecord", "arn:aws:kinesis:us-east-1:111122223333:stream/orders-eu", Allow},
		{"kinesis:putrecords", "arn:aws:kinesis:us-east-1:111122223333:stream/orders-eu", Allow}, // actions are case-insensitive
		{"kinesis:PutRecord", "arn:aws:kinesis:us-east-1:111122223333:stream/payments", ImplicitDeny},
		{"kinesis:GetRecords", "arn:aws:kinesis:us-east-1:111122223333:stream/payments", Allow},
		{"kinesis:DeleteStream", "arn:aws:kinesis:us-east-1:111122223333:stream/orders-eu", ImplicitDeny},
		{"kinesis:PutRecord", "arn:aws:kinesis:us-east-1:111122223333:stream/orders-secret", ExplicitDeny}, // deny wins over allow
	} {
		if got := Evaluate(req(c.action, c.res), id); got != c.want {
			t.Errorf("%s on %s = %d, want %d", c.action, c.res, got, c.want)
		}
	}
	// A resource policy grants another account.
	rp, err := Parse([]byte(`{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kinesis:GetRecords","Resource":"*"}}`))
	if err != nil {
		t.Fatal(err)
	}
	other := Request{Action: "kinesis:GetRecords", Resource: "arn:aws:kinesis:us-east-1:111122223333:stream/s", Principal: "arn:aws:iam::444455556666:user/bob", Account: "444455556666"}
	if Evaluate(other, rp) != Allow {
		t.Fatal("resource policy did not grant the other account")
	}
	other.Account, other.Principal = "777788889999", "arn:aws:iam::777788889999:user/eve"
	if Evaluate(other, rp) != ImplicitDeny {
		t.Fatal("resource policy granted an unlisted account")
	}
	// Unsupported elements fail closed.
	cond, _ := Parse([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`))
	if Evaluate(req("kinesis:PutRecord", "x"), cond) != ImplicitDeny {
		t.Fatal("a conditional Allow was applied")
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		ok   bool
	}{{"*", "", true}, {"a*c", "abbbc", true}, {"a?c", "abc", true}, {"a?c", "ac", false}, {"*stream/x", "arn:...:stream/x", true}, {"ab", "abc", false}} {
		if Match(c.p, c.s) != c.ok {
			t.Errorf("Match(%q, %q) != %v", c.p, c.s, c.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`))
	f.Add([]byte(`{"Statement":{"Effect":"Deny","Principal":"*","Action":["a"],"Resource":["b"]}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err == nil {
			Evaluate(Request{Action: "kinesis:PutRecord", Resource: "arn", Account: "1"}, p)
		}
	})
}
