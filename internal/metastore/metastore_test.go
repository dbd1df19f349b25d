package metastore

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCommitCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ok, rev1, err := s.Commit(ctx, map[string]uint64{"a": 0}, map[string][]byte{"a": []byte("1")}, nil)
	if !ok || err != nil || rev1 == 0 {
		t.Fatalf("create: %v %v %v", ok, rev1, err)
	}
	// Creating again must fail the comparison and change nothing.
	ok, _, err = s.Commit(ctx, map[string]uint64{"a": 0}, map[string][]byte{"a": []byte("2")}, nil)
	if ok || err != nil {
		t.Fatalf("second create: %v %v", ok, err)
	}
	v, rev, _ := s.Get(ctx, "a")
	if string(v) != "1" || rev != rev1 {
		t.Fatalf("a = %q@%d", v, rev)
	}
	ok, rev2, _ := s.Commit(ctx, map[string]uint64{"a": rev1}, map[string][]byte{"a": []byte("3"), "b": []byte("x")}, nil)
	if !ok || rev2 <= rev1 {
		t.Fatal("update failed")
	}
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var keys []string
	s.Scan(ctx, "", func(k string, v []byte, r uint64) error {
		keys = append(keys, k+"="+string(v))
		if r != rev2 {
			t.Errorf("%s rev %d want %d", k, r, rev2)
		}
		return nil
	})
	if len(keys) != 2 || keys[0] != "a=3" || keys[1] != "b=x" {
		t.Fatalf("scan = %v", keys)
	}
	ok, _, _ = s.Commit(ctx, map[string]uint64{"b": rev2}, nil, []string{"b"})
	if v, _, _ := s.Get(ctx, "b"); !ok || v != nil {
		t.Fatal("delete failed")
	}
}

func TestScanFrom(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	puts := map[string][]byte{}
	for _, k := range []string{"a/1", "p/a", "p/b", "p/b/c", "p/c", "q/1"} {
		puts[k] = []byte(k)
	}
	if ok, _, err := s.Commit(ctx, nil, puts, nil); !ok || err != nil {
		t.Fatal(ok, err)
	}
	scan := func(prefix, from string) (keys []string) {
		t.Helper()
		if err := s.ScanFrom(ctx, prefix, from, func(k string, v []byte, _ uint64) error {
			if string(v) != k {
				t.Errorf("%s = %q", k, v)
			}
			keys = append(keys, k)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	for _, c := range []struct {
		prefix, from string
		want         string
	}{
		{"p/", "", "p/a p/b p/b/c p/c"},
		{"p/", "p/b", "p/b p/b/c p/c"},
		{"p/", "p/b\x00", "p/b/c p/c"},
		{"p/", "p/b\xff", "p/c"},
		{"p/", "q", ""},
		{"", "p/c", "p/c q/1"},
	} {
		if got := strings.Join(scan(c.prefix, c.from), " "); got != c.want {
			t.Errorf("ScanFrom(%q, %q) = %q, want %q", c.prefix, c.from, got, c.want)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := s.ScanFrom(ctx, "p/", "p/", func(string, []byte, uint64) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("stop: %v after %d", err, n)
	}
}
