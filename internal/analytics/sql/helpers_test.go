package kdasql

import (
	"reflect"
	"testing"
)

// stripPos zeroes every Pos in the tree under v, so trees parsed from
// different layouts of the same SQL compare equal.
func stripPos(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			stripPos(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(Pos{}) {
			if v.CanSet() {
				v.Set(reflect.Zero(v.Type()))
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			stripPos(v.Field(i))
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			stripPos(v.Index(i))
		}
	}
}

// sameTree reports whether a and b are equal apart from positions.
func sameTree(a, b Node) bool {
	stripPos(reflect.ValueOf(a))
	stripPos(reflect.ValueOf(b))
	return reflect.DeepEqual(a, b)
}

// checkRoundTrip parses the printed form of s and requires the same tree and
// a stable printed form.
func checkRoundTrip(t testing.TB, s *Script) {
	t.Helper()
	out := s.String()
	again, err := Parse(out)
	if err != nil {
		t.Fatalf("printed form does not parse: %v\nprinted:\n%s", err, out)
	}
	if out2 := again.String(); out2 != out {
		t.Fatalf("printing is not stable:\nfirst:  %s\nsecond: %s", out, out2)
	}
	first, err := Parse(out) // a fresh copy: sameTree zeroes positions in place
	if err != nil {
		t.Fatal(err)
	}
	if !sameTree(first, s) {
		t.Fatalf("parse(print(ast)) differs from ast\nprinted:\n%s", out)
	}
}

func mustParse(t testing.TB, src string) *Script {
	t.Helper()
	s, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse: %v\nsource:\n%s", err, src)
	}
	return s
}
