package jsonrpc

// cborTooComplex reports whether a CBOR body holds more than maxItems data
// item heads (every integer, string or string chunk, array, map, tag and
// simple value counts one). Like MaxValues for JSON, it bounds what the
// generic decoder allocates: a one-byte item (an empty map, 0xa0) costs tens
// of bytes once decoded, and the decoder's own limits are per container, so
// 15 MiB of nested arrays of empty maps grew the server by over 1 GB. The
// heads are read in order, skipping string payloads; a malformed or
// truncated body stops the scan and is left to the decoder to refuse.
func cborTooComplex(b []byte, maxItems int) bool {
	items := 0
	for i := 0; i < len(b); {
		ib := b[i]
		i++
		major, ai := ib>>5, ib&0x1f
		var arg uint64
		switch {
		case ai < 24:
			arg = uint64(ai)
		case ai <= 27:
			n := 1 << (ai - 24) // 1, 2, 4 or 8 bytes
			if len(b)-i < n {
				return false
			}
			for _, c := range b[i : i+n] {
				arg = arg<<8 | uint64(c)
			}
			i += n
		case ai == 31:
			if major == 7 {
				continue // the break that ends an indefinite-length item
			}
			arg = 0 // indefinite length: the chunks or items follow as heads
		default:
			return false // reserved: malformed
		}
		items++
		if items > maxItems {
			return true
		}
		if (major == 2 || major == 3) && ai != 31 {
			if arg > uint64(len(b)-i) {
				return false // truncated
			}
			i += int(arg)
		}
	}
	return false
}
