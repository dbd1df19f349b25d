package jsonrpc

import (
	"bytes"
	"encoding/base64"
	"testing"
)

func FuzzDecodeBase64(f *testing.F) {
	for _, s := range []string{"", "AA==", "QUJD", "aGVsbG8=", "aGVsbG9=", "a\nbc", "////", "++++", "A===", "AAA=", "=AAA", "QUJDQUJD", "QUJD\r\nQUJD"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		want, werr := base64.StdEncoding.Strict().DecodeString(string(src))
		hasNL := bytes.ContainsAny(src, "\r\n") // stdlib skips newlines; Coral refuses them (checked by the caller)
		dst := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
		n, ok := DecodeBase64(dst, src)
		if hasNL {
			return
		}
		if ok != (werr == nil) {
			t.Fatalf("DecodeBase64(%q) ok=%v, stdlib err=%v", src, ok, werr)
		}
		if ok && !bytes.Equal(dst[:n], want) {
			t.Fatalf("DecodeBase64(%q) = %x, want %x", src, dst[:n], want)
		}
	})
}

func BenchmarkDecodeBase64(b *testing.B) {
	src := []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("0123456789abcdef"), 64<<10)))
	dst := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	b.Run("table", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for i := 0; i < b.N; i++ {
			DecodeBase64(dst, src)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for i := 0; i < b.N; i++ {
			base64.StdEncoding.Strict().Decode(dst, src)
		}
	})
}
