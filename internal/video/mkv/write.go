package mkv

// Tag is one SimpleTag of a chunk's Tags element.
type Tag struct{ Name, Value string }

// AppendChunk appends one self-contained Matroska document to dst, the
// shape GetMedia and GetMediaForFragmentList answer per fragment:
//
//	EBML header | Segment (unknown size) | Info | Tracks | Cluster | Tags (one Tag: Targets, SimpleTag*)
//
// ebml, info and tracks are whole elements (Header's fields); cluster is
// a whole Cluster element (Cluster.Raw). The Segment's size stays unknown
// so that players read a concatenation of chunks to its end.
func AppendChunk(dst, ebml, info, tracks, cluster []byte, tags []Tag) []byte {
	dst = append(dst, ebml...)
	dst = appendID(dst, IDSegment)
	dst = append(dst, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF) // unknown size
	dst = append(dst, info...)
	dst = append(dst, tracks...)
	dst = append(dst, cluster...)
	var tag []byte
	tag = appendElement(tag, IDTargets, nil)
	for _, t := range tags {
		var st []byte
		st = appendElement(st, IDTagName, []byte(t.Name))
		st = appendElement(st, IDTagString, []byte(t.Value))
		tag = appendElement(tag, IDSimpleTag, st)
	}
	return appendElement(dst, IDTags, appendElement(nil, IDTag, tag))
}

// appendElement appends an element with the minimal size field.
func appendElement(dst []byte, id uint64, body []byte) []byte {
	dst = appendID(dst, id)
	dst = appendSize(dst, int64(len(body)))
	return append(dst, body...)
}

// appendID appends an element ID (its bytes carry their own length).
func appendID(dst []byte, id uint64) []byte {
	switch {
	case id > 0xFFFFFF:
		return append(dst, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	case id > 0xFFFF:
		return append(dst, byte(id>>16), byte(id>>8), byte(id))
	case id > 0xFF:
		return append(dst, byte(id>>8), byte(id))
	}
	return append(dst, byte(id))
}

// appendSize appends a size vint of minimal length (never all ones).
func appendSize(dst []byte, n int64) []byte {
	l := 1
	for l < 8 && uint64(n) >= 1<<(7*l)-1 {
		l++
	}
	v := uint64(n) | 1<<(7*l)
	for i := l - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// putSize8 writes n as an 8-byte size vint into b[:8].
func putSize8(b []byte, n int64) {
	v := uint64(n) | 1<<56
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (8 * (7 - i)))
	}
}
