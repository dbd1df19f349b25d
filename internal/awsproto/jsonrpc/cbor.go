package jsonrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
)

// CBOR (application/x-amz-cbor-1.1) is the Java SDKs' default wire format
// for Kinesis: the same shapes as JSON 1.1, with blobs as byte strings and
// timestamps as tag 1 holding epoch *milliseconds* (the Java SDK's
// convention, not RFC 8949's seconds). Requests are normalized into the
// generic JSON representation (blobs → base64 text, timestamps → seconds),
// so type checks, validation and handlers are shared; responses are
// converted from the JSON the handlers produce.

var cborDec = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DefaultMapType:   reflect.TypeOf(map[string]any(nil)),
		MaxNestedLevels:  64,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 20,
		IndefLength:      cbor.IndefLengthAllowed,
		TagsMd:           cbor.TagsAllowed,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

var cborEnc = func() cbor.EncMode {
	em, err := cbor.EncOptions{Sort: cbor.SortNone}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// DecodeCBOR decodes a CBOR request body into the generic JSON
// representation DecodeJSON produces.
func DecodeCBOR(body []byte) (map[string]any, *awserr.Error) {
	if cborTooComplex(body, awsproto.MaxValues) {
		return nil, awserr.New(awserr.Serialization, "")
	}
	var v any
	rest, err := cborDec.UnmarshalFirst(body, &v)
	if err != nil || len(bytes.TrimSpace(rest)) > 0 {
		return nil, awserr.New(awserr.Serialization, "")
	}
	n, ok := normalizeCBOR(v).(map[string]any)
	if !ok {
		return nil, awserr.New(awserr.Serialization, "")
	}
	return n, nil
}

func normalizeCBOR(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeCBOR(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil // non-string keys: not a Kinesis shape
			}
			m[ks] = normalizeCBOR(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalizeCBOR(e)
		}
		return x
	case []byte:
		// Kept distinct from text: a byte string is a blob, never a string.
		return awsproto.Bytes(x)
	case time.Time:
		// The Java SDK puts epoch milliseconds in tag 1; the decoder read
		// them as seconds. (UnixNano would overflow for such values.) A
		// NaN or infinite tag-1 value decodes to the zero time: refuse it.
		if x.IsZero() {
			return "not a timestamp"
		}
		return json.Number(strconv.FormatFloat(float64(x.Unix())/1000+float64(x.Nanosecond())/1e12, 'f', -1, 64))
	case cbor.Tag:
		if x.Number == 1 {
			switch c := x.Content.(type) {
			case uint64:
				return json.Number(strconv.FormatFloat(float64(c)/1000, 'f', -1, 64))
			case int64:
				return json.Number(strconv.FormatFloat(float64(c)/1000, 'f', -1, 64))
			case float64:
				return json.Number(strconv.FormatFloat(c/1000, 'f', -1, 64))
			}
		}
		return normalizeCBOR(x.Content)
	case uint64:
		return json.Number(strconv.FormatUint(x, 10))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case float32:
		return json.Number(strconv.FormatFloat(float64(x), 'g', -1, 64))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
	}
	return v
}

// CBOROutput names the output members a service's JSON outputs carry as
// base64 strings (blobs, byte strings in CBOR) and epoch-second numbers
// (timestamps, tag 1 in CBOR): JSON cannot tell them from strings and
// numbers, the service's output shapes can.
type CBOROutput struct {
	Blobs, Timestamps map[string]bool
}

// EncodeCBOR converts a JSON response body into CBOR.
func EncodeCBOR(jsonBody []byte, shapes CBOROutput) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(jsonBody))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return cborEnc.Marshal(shapes.toCBOR("", v))
}

func (o CBOROutput) toCBOR(member string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = o.toCBOR(k, e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = o.toCBOR(member, e)
		}
		return x
	case string:
		if o.Blobs[member] {
			if b, err := base64.StdEncoding.DecodeString(x); err == nil {
				return b
			}
		}
		return x
	case json.Number:
		if o.Timestamps[member] {
			f, _ := x.Float64()
			return cbor.Tag{Number: 1, Content: int64(math.Round(f * 1000))}
		}
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// cborErrorBody encodes an error as AWS does: an indefinite-length map
// (0xbf … 0xff) of text strings, "__type" and, when there is one,
// "message" (the bytes kinesalite recorded from AWS in 2018).
func cborErrorBody(e *awserr.Error) []byte {
	b := []byte{0xbf}
	b = appendCBORText(b, "__type")
	b = appendCBORText(b, e.Name)
	if e.Message != "" {
		b = appendCBORText(b, "message")
		b = appendCBORText(b, e.Message)
	}
	return append(b, 0xff)
}

// appendCBORText appends a definite-length text string (major type 3).
func appendCBORText(b []byte, s string) []byte {
	n := uint64(len(s))
	switch {
	case n < 24:
		b = append(b, 0x60|byte(n))
	case n <= 0xff:
		b = append(b, 0x78, byte(n))
	case n <= 0xffff:
		b = append(b, 0x79, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		b = append(b, 0x7a, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		b = append(b, 0x7b, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}
