package awsproto

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rheos/rheos/internal/awserr"
)

// Type is a Smithy/Coral shape type.
type Type int

// Shape types.
const (
	String Type = iota + 1
	Integer
	Long
	Boolean
	Blob
	Timestamp
	List
	Map
	Structure
	Double   // a floating-point number (models' double and float)
	Document // untyped JSON, passed through as decoded
)

// Shape describes an input member and its constraints, in the order AWS's
// front end checks them (recorded by kinesalite's tests against AWS).
type Shape struct {
	Type     Type
	Required bool // "Member must not be null"
	// Numeric bounds.
	Min, Max *int64
	// Length bounds (characters for strings, bytes for blobs, entries for
	// lists and maps).
	MinLen, MaxLen *int
	Pattern        string // anchored regular expression
	Enum           []string
	// KeyLen and ValueLen constrain map keys and string values.
	KeyLen, ValueLen *[2]int
	Member           *Shape  // list member or map value
	Fields           []Field // structure members, in check order
	MemberStr        string  // how AWS prints a list member in messages
}

// patterns caches compiled schema patterns; schemas are shared by
// concurrent requests, so the cache is safe for concurrent use.
var patterns sync.Map // pattern → *modelPattern

// modelPattern is a model's pattern (a Java regular expression) as RE2 can
// run it. What RE2 lacks is translated: \uXXXX escapes (a surrogate pair
// range becomes the supplementary planes), possessive quantifiers ({n}+),
// leading lookaheads ("^(?!aws:)…" for tag keys, "(?=^\$)…") become checks
// at the start, a trailing negative lookbehind ("…(?<!\.)") a check at the
// end; lookarounds inside a pattern (firehose's JDBC URL) are dropped,
// which only makes the check more permissive.
type modelPattern struct {
	must    []*regexp.Regexp // each must match at the start
	not     []*regexp.Regexp // each must not match at the start
	notTail *regexp.Regexp   // must not match at the end
	re      *regexp.Regexp
}

// MatchString reports whether the whole of s matches.
func (m *modelPattern) MatchString(s string) bool {
	for _, n := range m.must {
		if !n.MatchString(s) {
			return false
		}
	}
	for _, n := range m.not {
		if n.MatchString(s) {
			return false
		}
	}
	if m.notTail != nil && m.notTail.MatchString(s) {
		return false
	}
	return m.re.MatchString(s)
}

var (
	// A lookahead group: one level of nested parentheses allowed.
	lookahead    = regexp.MustCompile(`^\^?\(\?([!=])((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*)\)`)
	groupedAhead = regexp.MustCompile(`^\(\^\(\?!((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*)\)\)`)
	lookbehind   = regexp.MustCompile(`\(\?<!((?:[^()\\]|\\.)*)\)$`)
	innerAround  = regexp.MustCompile(`\(\?<?[!=](?:[^()\\]|\\.)*\)`)
	surrogates   = regexp.MustCompile(`\\uD800\\uDC00-\\uDBFF\\uDFFF`)
	uEscape      = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`)
	possessive   = regexp.MustCompile(`(\{\d+(?:,\d*)?\})\+`)
)

// compilePattern translates a model pattern; it fails for constructs RE2
// cannot express.
func compilePattern(p string) (*modelPattern, error) {
	p = surrogates.ReplaceAllString(p, `\x{10000}-\x{10FFFF}`)
	p = uEscape.ReplaceAllString(p, `\x{$1}`)
	p = possessive.ReplaceAllString(p, "$1")
	m := &modelPattern{}
	for {
		if sub := groupedAhead.FindStringSubmatch(p); sub != nil {
			n, err := regexp.Compile("^(?:" + sub[1] + ")")
			if err != nil {
				return nil, err
			}
			m.not = append(m.not, n)
			p = p[len(sub[0]):]
			continue
		}
		sub := lookahead.FindStringSubmatch(p)
		if sub == nil {
			break
		}
		n, err := regexp.Compile("^(?:" + sub[2] + ")")
		if err != nil {
			return nil, err
		}
		if sub[1] == "=" {
			m.must = append(m.must, n)
		} else {
			m.not = append(m.not, n)
		}
		p = p[len(sub[0]):]
	}
	if sub := lookbehind.FindStringSubmatch(p); sub != nil {
		n, err := regexp.Compile("(?:" + sub[1] + ")$")
		if err != nil {
			return nil, err
		}
		m.notTail = n
		p = p[:len(p)-len(sub[0])]
	}
	p = innerAround.ReplaceAllString(p, "")
	re, err := regexp.Compile("^(?:" + p + ")$")
	if err != nil {
		return nil, err
	}
	m.re = re
	return m, nil
}

func compiled(p string) *modelPattern {
	if re, ok := patterns.Load(p); ok {
		return re.(*modelPattern)
	}
	m, err := compilePattern(p)
	if err != nil {
		// Every pattern of the checked-in models compiles
		// (TestModelPatternsCompile); a pattern that does not is not
		// enforced rather than failing the request.
		m = &modelPattern{re: regexp.MustCompile(`^(?s:.*)$`)}
	}
	patterns.Store(p, m)
	return m
}

// Bytes is a byte string decoded by a binary codec (CBOR) in the generic
// representation: CheckTypes accepts it as a blob and refuses it as a
// string, as AWS does.
type Bytes []byte

// Location is where a member of a REST request is bound.
type Location int

// Member locations (the model's "location" trait).
const (
	InBody   Location = iota // the JSON body (the only location of JSON-RPC members)
	InURI                    // a {Name} or {Name+} segment of the path
	InQuery                  // a query-string parameter
	InHeader                 // an HTTP header
)

// Field is a named structure member.
type Field struct {
	Name  string
	Shape *Shape
	// In is where a REST request carries the member (default: the body).
	In Location
	// Wire is the member's name on the wire (path label, query parameter
	// or header name) when it differs from Name.
	Wire string
}

// WireName is the name of the member on the wire.
func (f Field) WireName() string {
	if f.Wire != "" {
		return f.Wire
	}
	return f.Name
}

// Ptr helpers for schema literals.
func I64(v int64) *int64 { return &v }

// Len returns a pointer to v.
func Len(v int) *int { return &v }

// Value is a decoded JSON value: nil, bool, json.Number, string, []any,
// map[string]any.
type Value = any

// MaxValues caps the size of a request body's JSON structure: the number of
// objects, arrays and separating commas outside strings. Decoded into
// generic values, a body of tiny values ("[{},{},...]") costs 20 to 30 times
// its size in memory (a 16 MiB PutRecords body of "{}" grew the server by
// 2.5 GB before this cap); no valid request of any operation comes near it
// (PutRecords' 500 records are about 2,000), nor does one breaking a limit
// tenfold, which still gets its ValidationException. DecodeCBOR applies the
// same cap to CBOR data items.
const MaxValues = 100000

// DecodeJSON decodes a request body. Malformed JSON, a non-object top level,
// invalid UTF-8, nesting deeper than maxDepth or a structure larger than
// MaxValues gives SerializationException.
func DecodeJSON(body []byte, maxDepth int) (map[string]any, *awserr.Error) {
	if !utf8.Valid(body) || tooComplex(body, maxDepth, MaxValues) {
		return nil, awserr.New(awserr.Serialization, "")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, awserr.New(awserr.Serialization, "")
	}
	// Nothing but white space may follow the object (dec.More would let a
	// stray closing bracket and anything after it through).
	if _, err := dec.Token(); err != io.EOF {
		return nil, awserr.New(awserr.Serialization, "")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, awserr.New(awserr.Serialization, "")
	}
	return m, nil
}

// tooComplex scans, ignoring strings, for bracket nesting beyond maxDepth
// or more than maxValues brackets and commas.
func tooComplex(b []byte, maxDepth, maxValues int) bool {
	depth, values, inStr, esc := 0, 0, false, false
	for _, c := range b {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			values++
			if depth > maxDepth || values > maxValues {
				return true
			}
		case ',':
			values++
			if values > maxValues {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

func serr(msg string) *awserr.Error {
	return &awserr.Error{Exception: awserr.Serialization, Message: msg}
}

// CheckTypes converts members to their shape types (AWS's Coral front end
// errors are SerializationException, message key "Message"). Unknown members
// and nulls are dropped. Blobs become []byte, timestamps float64 seconds,
// integers int64.
func CheckTypes(data map[string]any, fields []Field) (map[string]any, *awserr.Error) {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		v, ok := data[f.Name]
		if !ok || v == nil {
			continue
		}
		cv, err := checkType(v, f.Shape)
		if err != nil {
			return nil, err
		}
		if cv != nil {
			out[f.Name] = cv
		}
	}
	return out, nil
}

func typeName(t Type) string {
	switch t {
	case Integer:
		return "Integer"
	case Long:
		return "Long"
	}
	return "Double"
}

func checkType(v any, s *Shape) (any, *awserr.Error) {
	switch s.Type {
	case Document:
		return v, nil
	case Double:
		switch x := v.(type) {
		case json.Number:
			f, err := parseNumber(x)
			if err != nil {
				return nil, serr("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Double")
			}
			return f, nil
		case bool:
			return nil, serr("class java.lang.Boolean can not be converted to a Double")
		case string:
			return nil, serr("class java.lang.String can not be converted to a Double")
		case []any:
			return nil, serr("Start of list found where not expected")
		default:
			return nil, serr("Start of structure or map found where not expected.")
		}
	case Boolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case json.Number:
			return nil, serr("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean")
		case string:
			return nil, serr("'" + strings.ToUpper(x) + "' can not be converted to an Boolean")
		case []any:
			return nil, serr("Start of list found where not expected")
		default:
			return nil, serr("Start of structure or map found where not expected.")
		}
	case Integer, Long:
		switch x := v.(type) {
		case bool:
			return nil, serr("class java.lang.Boolean can not be converted to an " + typeName(s.Type))
		case json.Number:
			f, err := parseNumber(x)
			if err != nil {
				return nil, serr("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an " + typeName(s.Type))
			}
			f = math.Floor(f)
			if s.Type == Integer && f > math.MaxInt32 {
				f = math.MaxInt32
			}
			if f > math.MaxInt64 {
				f = math.MaxInt64
			}
			if f < math.MinInt64 {
				f = math.MinInt64
			}
			return int64(f), nil
		case string:
			return nil, serr("class java.lang.String can not be converted to an " + typeName(s.Type))
		case []any:
			return nil, serr("Start of list found where not expected")
		default:
			return nil, serr("Start of structure or map found where not expected.")
		}
	case String:
		switch x := v.(type) {
		case string:
			return x, nil
		case Bytes:
			return nil, serr("class java.nio.ByteBuffer can not be converted to an String")
		case bool:
			return nil, serr("class java.lang.Boolean can not be converted to an String")
		case json.Number:
			return nil, serr("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String")
		case []any:
			return nil, serr("Start of list found where not expected")
		default:
			return nil, serr("Start of structure or map found where not expected.")
		}
	case Blob:
		switch x := v.(type) {
		case string:
			return decodeBlob(x)
		case Bytes:
			return []byte(x), nil
		case bool:
			return nil, serr("class java.lang.Boolean can not be converted to a Blob")
		case json.Number:
			return nil, serr("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob")
		case []any:
			return nil, serr("Start of list found where not expected")
		default:
			return nil, serr("Start of structure or map found where not expected.")
		}
	case Timestamp:
		switch x := v.(type) {
		case json.Number:
			f, err := parseNumber(x)
			if err != nil {
				return nil, serr("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to milliseconds since epoch")
			}
			return f, nil
		case bool:
			return nil, serr("class java.lang.Boolean can not be converted to milliseconds since epoch")
		case string:
			return nil, serr("class java.lang.String can not be converted to milliseconds since epoch")
		case []any:
			return nil, serr("Start of list found where not expected")
		default:
			return nil, serr("Start of structure or map found where not expected.")
		}
	case List:
		x, ok := v.([]any)
		if !ok {
			if _, isMap := v.(map[string]any); isMap {
				return nil, serr("Start of structure or map found where not expected.")
			}
			return nil, serr("Expected list or null")
		}
		out := make([]any, len(x))
		for i, e := range x {
			if e == nil {
				continue
			}
			cv, err := checkType(e, s.Member)
			if err != nil {
				return nil, err
			}
			out[i] = cv
		}
		return out, nil
	case Map:
		x, ok := v.(map[string]any)
		if !ok {
			if _, isList := v.([]any); isList {
				return nil, serr("Start of list found where not expected")
			}
			return nil, serr("Expected map or null")
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e == nil {
				continue
			}
			cv, err := checkType(e, s.Member)
			if err != nil {
				return nil, err
			}
			out[k] = cv
		}
		return out, nil
	case Structure:
		x, ok := v.(map[string]any)
		if !ok {
			if _, isList := v.([]any); isList {
				return nil, serr("Start of list found where not expected")
			}
			return nil, serr("Expected null")
		}
		return CheckTypes(x, s.Fields)
	}
	return nil, serr("unsupported shape")
}

// parseNumber parses a number member. NaN and the infinities are refused
// like numbers out of float64's range: JSON cannot spell them, but a CBOR
// float (or tag 1 holding one) normalizes to "NaN" or "+Inf", which
// strconv.ParseFloat accepts, and a NaN timestamp or a NaN integer (whose
// conversion to int64 is undefined) must not reach a handler.
func parseNumber(n json.Number) (float64, error) {
	f, err := strconv.ParseFloat(n.String(), 64)
	if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		err = strconv.ErrRange
	}
	return f, err
}

// decodeBlob applies Coral's base64 rules.
func decodeBlob(s string) (any, *awserr.Error) {
	if len(s)%4 != 0 {
		return nil, serr(fmt.Sprintf("'%s' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: %d", truncate(s), len(s)))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
		if !ok || c == '=' && i+1 < len(s) && s[i+1] != '=' {
			return nil, serr(fmt.Sprintf("'%s' can not be converted to a Blob: Invalid Base64 character: '%c'", truncate(s), s[i]))
		}
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, serr(fmt.Sprintf("'%s' can not be converted to a Blob: Invalid last non-pad Base64 character dectected", truncate(s)))
	}
	return b, nil
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// Validate checks each member's constraints, a missing required member
// included ("Member must not be null"), and returns AWS's
// ValidationException ("N validation errors detected: ...", at most 10
// listed). Kinesis has no early "parameter is required" error: kinesalite's
// tests, recorded against AWS, list missing members among the others.
func Validate(data map[string]any, fields []Field) *awserr.Error {
	var errs []string
	checkFields(data, fields, "", &errs)
	if len(errs) == 0 {
		return nil
	}
	s := ""
	if len(errs) > 1 {
		s = "s"
	}
	return awserr.New(awserr.Validation, fmt.Sprintf("%d validation error%s detected: %s", len(errs), s, strings.Join(errs, "; ")))
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func checkFields(data map[string]any, fields []Field, parent string, errs *[]string) {
	for _, f := range fields {
		checkValue(f.Name, data[f.Name], f.Shape, parent, errs)
	}
}

func checkValue(name string, v any, s *Shape, parent string, errs *[]string) {
	add := func(msg string) {
		if len(*errs) >= 10 {
			return
		}
		p := ""
		if parent != "" {
			p = parent + "."
		}
		val := "null"
		if v != nil {
			val = "'" + valueStr(v, s) + "'"
		}
		*errs = append(*errs, fmt.Sprintf("Value %s at '%s%s' failed to satisfy constraint: %s", val, p, lowerFirst(name), msg))
	}
	if v == nil {
		if s.Required {
			add("Member must not be null")
		}
		return
	}
	if s.Min != nil {
		if n, ok := v.(int64); ok && n < *s.Min {
			add(fmt.Sprintf("Member must have value greater than or equal to %d", *s.Min))
		}
	}
	if s.Max != nil {
		if n, ok := v.(int64); ok && n > *s.Max {
			add(fmt.Sprintf("Member must have value less than or equal to %d", *s.Max))
		}
	}
	if s.Pattern != "" {
		if str, ok := v.(string); ok && !compiled(s.Pattern).MatchString(str) {
			add("Member must satisfy regular expression pattern: " + s.Pattern)
		}
	}
	if s.Enum != nil {
		if str, ok := v.(string); ok {
			found := false
			for _, e := range s.Enum {
				found = found || e == str
			}
			if !found {
				add("Member must satisfy enum value set: [" + strings.Join(s.Enum, ", ") + "]")
			}
		}
	}
	if s.MinLen != nil && length(v) < *s.MinLen {
		add(fmt.Sprintf("Member must have length greater than or equal to %d", *s.MinLen))
	}
	if s.MaxLen != nil && length(v) > *s.MaxLen {
		add(fmt.Sprintf("Member must have length less than or equal to %d", *s.MaxLen))
	}
	if m, ok := v.(map[string]any); ok && s.Type == Map {
		if s.KeyLen != nil {
			for k := range m {
				if n := utf8.RuneCountInString(k); n < s.KeyLen[0] || n > s.KeyLen[1] {
					add(fmt.Sprintf("Map keys must satisfy constraint: [Member must have length less than or equal to %d, Member must have length greater than or equal to %d]", s.KeyLen[1], s.KeyLen[0]))
					break
				}
			}
		}
		if s.ValueLen != nil {
			for _, mv := range m {
				if str, ok := mv.(string); ok {
					if n := utf8.RuneCountInString(str); n < s.ValueLen[0] || n > s.ValueLen[1] {
						add(fmt.Sprintf("Map value must satisfy constraint: [Member must have length less than or equal to %d, Member must have length greater than or equal to %d]", s.ValueLen[1], s.ValueLen[0]))
						break
					}
				}
			}
		}
	}
	if s.Type == List && s.Member != nil && s.KeyLen != nil {
		// List of strings with per-member length rules (e.g. TagKeys).
		for _, e := range v.([]any) {
			if str, ok := e.(string); ok {
				if n := utf8.RuneCountInString(str); n < s.KeyLen[0] || n > s.KeyLen[1] {
					add(fmt.Sprintf("Member must satisfy constraint: [Member must have length less than or equal to %d, Member must have length greater than or equal to %d]", s.KeyLen[1], s.KeyLen[0]))
					break
				}
			}
		}
	}
	switch s.Type {
	case List:
		for i, e := range v.([]any) {
			if e != nil && (s.Member == nil || s.Member.Type != Structure) {
				continue
			}
			// Coral names a list element "<list>.<n>.member":
			// records.1.member.partitionKey.
			p := lowerFirst(name) + "." + strconv.Itoa(i+1)
			if parent != "" {
				p = parent + "." + p
			}
			if e == nil {
				// Lists are not sparse: a null element is refused (it would
				// otherwise reach the handler as a zero value, e.g. a
				// record with no partition key and no data).
				checkValue("member", nil, nonNull, p, errs)
				continue
			}
			em, _ := e.(map[string]any)
			checkFields(em, s.Member.Fields, p+".member", errs)
		}
	case Structure:
		p := lowerFirst(name)
		if parent != "" {
			p = parent + "." + p
		}
		checkFields(v.(map[string]any), s.Fields, p, errs)
	}
}

// nonNull is the constraint on every list element.
var nonNull = &Shape{Required: true}

func length(v any) int {
	switch x := v.(type) {
	case string:
		return utf8.RuneCountInString(x)
	case []byte:
		return len(x)
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	}
	return 0
}

func valueStr(v any, s *Shape) string {
	switch x := v.(type) {
	case []byte:
		return fmt.Sprintf("java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]", len(x), len(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if s.MemberStr != "" {
				parts[i] = s.MemberStr
			} else {
				parts[i] = fmt.Sprint(e)
			}
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for k, e := range x {
			parts = append(parts, k+"="+fmt.Sprint(e))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// F builds a Field (for compact schema tables).
func F(name string, s *Shape) Field { return Field{Name: name, Shape: s} }
