package firehose

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	pqcompress "github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/deprecated"
)

// Record format conversion, JSON → Apache Parquet, as Firehose does it:
//
//	records ──deserializer──▶ rows of the Glue table's columns ──ParquetSerDe──▶ one .parquet object per batch
//
// The deserializer is OpenXJsonSerDe (case-insensitive keys by default,
// ColumnToJsonKeyMappings, ConvertDotsInJsonKeysToUnderscores; timestamps as
// ISO-8601, "yyyy-M-d H:m:s[.f]", epoch seconds, epoch milliseconds or
// fractional epoch seconds) or HiveJsonSerDe (TimestampFormats: Joda
// patterns or "millis"; java.sql.Timestamp.valueOf's format when none is
// given). A record may hold several concatenated JSON objects ({"a":1}{"a":2});
// each becomes a row. A record that is not JSON objects, or whose values do
// not fit the column types, fails as a whole (format-conversion-failed,
// DataFormatConversion.MalformedData) and the others convert.
//
// Hive types map to Parquet as Hive's ParquetHiveSerDe writes them, every
// column optional: string/char/varchar → BYTE_ARRAY (UTF8); tinyint,
// smallint, int → INT32 (INT(8/16/32)); bigint → INT64; float → FLOAT;
// double → DOUBLE; boolean → BOOLEAN; timestamp → INT96 (UTC, the
// representation Hive, Athena and Spark read); date → INT32 (DATE);
// decimal(p,s) → FIXED_LEN_BYTE_ARRAY (DECIMAL) of the fewest bytes that hold
// p digits; array → the 3-level LIST; map → MAP (key_value, required key);
// struct → a group. Columns keep the table's order. binary, union and
// interval columns are refused (DataFormatConversion.InvalidSchema for every
// record of the batch).
//
// ORC output is not served: no ORC writer for Go is available here
// (github.com/scritchley/orc is not on the module proxy), so normalize
// refuses OrcSerDe.

func init() {
	formatConverter = &converter{normalize: normalizeConversion, convert: convertRecords}
}

// Error codes of format-conversion-failed records.
const (
	codeMalformedData = "DataFormatConversion.MalformedData"
	codeInvalidSchema = "DataFormatConversion.InvalidSchema"
)

// AWS's ParquetSerDe defaults and minimums (API reference, ParquetSerDe).
const (
	parquetBlockDefault = 256 << 20
	parquetBlockMin     = 64 << 20
	parquetPageDefault  = 1 << 20
	parquetPageMin      = 64 << 10
)

// normalizeConversion checks a DataFormatConversionConfiguration and fills
// in AWS's defaults. The destination's CompressionFormat must also be
// UNCOMPRESSED; the caller checks that (it sees the whole destination).
func normalizeConversion(conf map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range conf {
		out[k] = v
	}
	setDefault(out, "Enabled", true)

	sc := mapOf(out, "SchemaConfiguration")
	if str(sc, "DatabaseName") == "" || str(sc, "TableName") == "" {
		return nil, errorf(KindInvalidArgument, "SchemaConfiguration needs DatabaseName and TableName when data format conversion is enabled.")
	}
	setDefault(sc, "VersionId", "LATEST")
	out["SchemaConfiguration"] = sc

	in := mapOf(out, "InputFormatConfiguration")
	de := mapOf(in, "Deserializer")
	_, hasOpenX := de["OpenXJsonSerDe"].(map[string]any)
	_, hasHive := de["HiveJsonSerDe"].(map[string]any)
	if hasOpenX == hasHive {
		return nil, errorf(KindInvalidArgument, "InputFormatConfiguration.Deserializer must specify exactly one of OpenXJsonSerDe and HiveJsonSerDe.")
	}
	if hasOpenX {
		o := mapOf(de, "OpenXJsonSerDe")
		setDefault(o, "CaseInsensitive", true)
		setDefault(o, "ConvertDotsInJsonKeysToUnderscores", false)
		if _, ok := o["CaseInsensitive"].(bool); !ok {
			return nil, errorf(KindInvalidArgument, "OpenXJsonSerDe.CaseInsensitive must be a boolean.")
		}
		if _, ok := o["ConvertDotsInJsonKeysToUnderscores"].(bool); !ok {
			return nil, errorf(KindInvalidArgument, "OpenXJsonSerDe.ConvertDotsInJsonKeysToUnderscores must be a boolean.")
		}
		if m, ok := o["ColumnToJsonKeyMappings"]; ok {
			mm, ok := m.(map[string]any)
			if !ok {
				return nil, errorf(KindInvalidArgument, "OpenXJsonSerDe.ColumnToJsonKeyMappings must map column names to JSON keys.")
			}
			for k, v := range mm {
				if s, ok := v.(string); !ok || strings.TrimSpace(s) == "" || k == "" || strings.ContainsAny(k, " \t\r\n") {
					return nil, errorf(KindInvalidArgument, "OpenXJsonSerDe.ColumnToJsonKeyMappings: invalid mapping %q → %v.", k, v)
				}
			}
		}
		de["OpenXJsonSerDe"] = o
	} else {
		h := mapOf(de, "HiveJsonSerDe")
		for _, f := range listOf(h, "TimestampFormats") {
			s, _ := f.(string)
			if strings.TrimSpace(s) == "" || len(s) > 1024 {
				return nil, errorf(KindInvalidArgument, "HiveJsonSerDe.TimestampFormats: each format must be a non-empty string of at most 1024 characters.")
			}
			if _, err := compileTimestampFormat(s); err != nil {
				return nil, errorf(KindInvalidArgument, "HiveJsonSerDe.TimestampFormats: %v", err)
			}
		}
		de["HiveJsonSerDe"] = h
	}
	in["Deserializer"] = de
	out["InputFormatConfiguration"] = in

	op := mapOf(out, "OutputFormatConfiguration")
	se := mapOf(op, "Serializer")
	_, hasParquet := se["ParquetSerDe"].(map[string]any)
	_, hasOrc := se["OrcSerDe"].(map[string]any)
	if hasParquet == hasOrc {
		return nil, errorf(KindInvalidArgument, "OutputFormatConfiguration.Serializer must specify exactly one of ParquetSerDe and OrcSerDe.")
	}
	if hasOrc {
		return nil, errorf(KindInvalidArgument, "ORC output (OrcSerDe) is not served by this endpoint: no ORC writer is available. Use ParquetSerDe.")
	}
	p := mapOf(se, "ParquetSerDe")
	setDefault(p, "BlockSizeBytes", int64(parquetBlockDefault))
	setDefault(p, "PageSizeBytes", int64(parquetPageDefault))
	setDefault(p, "Compression", "SNAPPY")
	setDefault(p, "EnableDictionaryCompression", false)
	setDefault(p, "MaxPaddingBytes", int64(0))
	setDefault(p, "WriterVersion", "V1")
	if n := intOf(p, "BlockSizeBytes"); n < parquetBlockMin {
		return nil, errorf(KindInvalidArgument, "ParquetSerDe.BlockSizeBytes %d is below the minimum of %d (64 MiB).", n, parquetBlockMin)
	}
	if n := intOf(p, "PageSizeBytes"); n < parquetPageMin {
		return nil, errorf(KindInvalidArgument, "ParquetSerDe.PageSizeBytes %d is below the minimum of %d (64 KiB).", n, parquetPageMin)
	}
	if n := intOf(p, "MaxPaddingBytes"); n < 0 {
		return nil, errorf(KindInvalidArgument, "ParquetSerDe.MaxPaddingBytes must not be negative.")
	}
	switch c := str(p, "Compression"); c {
	case "SNAPPY", "GZIP", "UNCOMPRESSED":
	default:
		return nil, errorf(KindInvalidArgument, "ParquetSerDe.Compression %q is not one of SNAPPY, GZIP and UNCOMPRESSED.", c)
	}
	switch v := str(p, "WriterVersion"); v {
	case "V1", "V2":
	default:
		return nil, errorf(KindInvalidArgument, "ParquetSerDe.WriterVersion %q is not one of V1 and V2.", v)
	}
	if _, ok := p["EnableDictionaryCompression"].(bool); !ok {
		return nil, errorf(KindInvalidArgument, "ParquetSerDe.EnableDictionaryCompression must be a boolean.")
	}
	se["ParquetSerDe"] = p
	op["Serializer"] = se
	out["OutputFormatConfiguration"] = op
	return out, nil
}

// conversionPlan is a DataFormatConversionConfiguration compiled against
// a table's columns.
type conversionPlan struct {
	root      *htype // a struct of the table's columns
	schema    *parquet.Schema
	opts      []parquet.WriterOption
	blockSize int64
	tsFormats []tsFormat // HiveJsonSerDe; nil for OpenX
	hive      bool
}

// deserializer options.
type serdeOptions struct {
	caseInsensitive bool
	dots            bool
	mappings        map[string]string // column → JSON key
}

func (o serdeOptions) key(k string) string {
	if o.caseInsensitive {
		k = strings.ToLower(k)
	}
	if o.dots {
		k = strings.ReplaceAll(k, ".", "_")
	}
	return k
}

// errSchema marks a table the converter cannot write.
var errSchema = errors.New("unsupported table schema")

// newPlan compiles conf for the table with columns cols.
func newPlan(conf map[string]any, cols []Column) (*conversionPlan, error) {
	de := mapOf(mapOf(conf, "InputFormatConfiguration"), "Deserializer")
	var so serdeOptions
	p := &conversionPlan{}
	if o, ok := de["OpenXJsonSerDe"].(map[string]any); ok {
		so.caseInsensitive = o["CaseInsensitive"] != false
		so.dots = o["ConvertDotsInJsonKeysToUnderscores"] == true
		if m, ok := o["ColumnToJsonKeyMappings"].(map[string]any); ok {
			so.mappings = map[string]string{}
			for k, v := range m {
				s, _ := v.(string)
				so.mappings[strings.ToLower(k)] = s
			}
		}
	} else {
		p.hive = true
		so.caseInsensitive = true
		for _, f := range listOf(mapOf(de, "HiveJsonSerDe"), "TimestampFormats") {
			s, _ := f.(string)
			tf, err := compileTimestampFormat(s)
			if err != nil {
				return nil, err
			}
			p.tsFormats = append(p.tsFormats, tf)
		}
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%w: the table has no columns", errSchema)
	}
	root := &htype{kind: kStruct}
	for _, c := range cols {
		t, err := parseHiveType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: column %s: %v", errSchema, c.Name, err)
		}
		root.fields = append(root.fields, hfield{name: strings.ToLower(c.Name), t: t})
	}
	root.index(so, true)

	ps := mapOf(mapOf(mapOf(conf, "OutputFormatConfiguration"), "Serializer"), "ParquetSerDe")
	dict := ps["EnableDictionaryCompression"] == true
	root.layout(0, 0, 0)
	p.root = root
	p.schema = parquet.NewSchema("hive_schema", root.group(dict))
	var codec pqcompress.Codec = &parquet.Snappy
	switch str(ps, "Compression") {
	case "GZIP":
		codec = &parquet.Gzip
	case "UNCOMPRESSED":
		codec = &parquet.Uncompressed
	}
	page := intOf(ps, "PageSizeBytes")
	if page <= 0 {
		page = parquetPageDefault
	}
	p.blockSize = intOf(ps, "BlockSizeBytes")
	if p.blockSize <= 0 {
		p.blockSize = parquetBlockDefault
	}
	version := 1
	if str(ps, "WriterVersion") == "V2" {
		version = 2
	}
	p.opts = []parquet.WriterOption{p.schema, parquet.Compression(codec), parquet.PageBufferSize(int(page)),
		parquet.DataPageVersion(version), parquet.CreatedBy("rheos", "", "")}
	return p, nil
}

// convertRecords is the converter's convert: one Parquet object for the
// records that convert, a failure for each that does not.
func convertRecords(ctx context.Context, s *Service, m *streamMeta, records []LogRecord, data [][]byte) ([]byte, string, []failure, error) {
	conf := mapOf(m.Dest, "DataFormatConversionConfiguration")
	sc := mapOf(conf, "SchemaConfiguration")
	if s.cfg.Schemas == nil {
		return nil, "", nil, errors.New("no Glue Data Catalog is configured for record format conversion")
	}
	region := str(sc, "Region")
	if region == "" {
		region = m.Region
	}
	account := str(sc, "CatalogId")
	if account == "" {
		account = m.Account
	}
	cols, err := s.cfg.Schemas.Columns(ctx, account, region, str(sc, "DatabaseName"), str(sc, "TableName"))
	if err != nil {
		return nil, "", nil, err
	}
	recordOf := func(i int) LogRecord {
		r := LogRecord{Data: data[i]}
		if len(records) == len(data) {
			r.Seq, r.Timestamp, r.Flags = records[i].Seq, records[i].Timestamp, records[i].Flags
		} else if len(records) > 0 {
			r.Timestamp = records[0].Timestamp
		}
		return r
	}
	plan, err := newPlan(conf, cols)
	if err != nil {
		failed := make([]failure, len(data))
		for i := range data {
			failed[i] = failure{rec: recordOf(i), code: codeInvalidSchema, msg: err.Error(), attempts: 1}
		}
		return nil, "", failed, nil
	}
	body, bad, err := plan.convert(data)
	if err != nil {
		return nil, "", nil, err
	}
	var failed []failure
	for _, b := range bad {
		failed = append(failed, failure{rec: recordOf(b.index), code: codeMalformedData, msg: b.msg, attempts: 1})
	}
	return body, ".parquet", failed, nil
}

// badRecord is a record that did not convert.
type badRecord struct {
	index int
	msg   string
}

// convert writes the rows of data as one Parquet file; body is nil when no
// record converted. err is a writer failure (not a record's).
func (p *conversionPlan) convert(data [][]byte) (body []byte, bad []badRecord, err error) {
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, p.opts...)
	cols := make([][]parquet.Value, p.root.ncols)
	var pending []parquet.Row
	var rowGroupBytes int64
	rows := 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		_, err := w.WriteRows(pending)
		pending = pending[:0]
		return err
	}
	var recRows []parquet.Row
	for i, d := range data {
		recRows = recRows[:0]
		dec := json.NewDecoder(bytes.NewReader(d))
		dec.UseNumber()
		n := 0
		var rerr error
		for {
			var v any
			if err := dec.Decode(&v); err == io.EOF {
				break
			} else if err != nil {
				rerr = fmt.Errorf("Encountered malformed JSON. %v", err)
				break
			}
			n++
			obj, ok := v.(map[string]any)
			if !ok {
				rerr = fmt.Errorf("Data does not match the schema. Data is not a JSON object but %s.", jsonKind(v))
				break
			}
			for c := range cols {
				cols[c] = cols[c][:0]
			}
			if err := p.root.shredFields(p, cols, obj, 0); err != nil {
				rerr = fmt.Errorf("Data does not match the schema. %v", err)
				break
			}
			size := 0
			for _, c := range cols {
				size += len(c)
			}
			row := make(parquet.Row, 0, size)
			for _, c := range cols {
				row = append(row, c...)
			}
			recRows = append(recRows, row)
		}
		if rerr == nil && n == 0 {
			rerr = errors.New("The record was empty or contained only whitespace.")
		}
		if rerr != nil {
			bad = append(bad, badRecord{index: i, msg: rerr.Error()})
			continue
		}
		pending = append(pending, recRows...)
		rows += len(recRows)
		rowGroupBytes += int64(len(d))
		if len(pending) >= 512 {
			if err := flush(); err != nil {
				return nil, nil, err
			}
		}
		if rowGroupBytes >= p.blockSize {
			// BlockSizeBytes bounds a row group; JSON input size
			// stands in for the encoded size (an overestimate).
			if err := flush(); err != nil {
				return nil, nil, err
			}
			if err := w.Flush(); err != nil {
				return nil, nil, err
			}
			rowGroupBytes = 0
		}
	}
	if rows == 0 {
		return nil, bad, nil
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), bad, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// Hive types.

type hkind uint8

const (
	kString hkind = iota
	kVarchar
	kChar
	kTinyint
	kSmallint
	kInt
	kBigint
	kFloat
	kDouble
	kBoolean
	kTimestamp
	kDate
	kDecimal
	kArray
	kMap
	kStruct
)

// htype is a parsed Hive type with its place in the Parquet schema.
type htype struct {
	kind             hkind
	length           int // varchar(n), char(n)
	precision, scale int // decimal(p,s)
	elem, key, val   *htype
	fields           []hfield
	byKey            map[string]int // struct: normalized JSON key → field
	ci, dots         bool           // struct: CaseInsensitive, ConvertDotsInJsonKeysToUnderscores

	// Layout: the leaf columns [col, col+ncols), the definition level of
	// a present value and the repetition depth of the value's context.
	col, ncols int
	def, rep   int
}

type hfield struct {
	name string
	t    *htype
}

func (t *htype) String() string {
	switch t.kind {
	case kVarchar:
		return fmt.Sprintf("varchar(%d)", t.length)
	case kChar:
		return fmt.Sprintf("char(%d)", t.length)
	case kDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.precision, t.scale)
	case kArray:
		return "array<" + t.elem.String() + ">"
	case kMap:
		return "map<" + t.key.String() + "," + t.val.String() + ">"
	case kStruct:
		var b strings.Builder
		b.WriteString("struct<")
		for i, f := range t.fields {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f.name + ":" + f.t.String())
		}
		return b.String() + ">"
	}
	return [...]string{"string", "", "", "tinyint", "smallint", "int", "bigint", "float", "double", "boolean", "timestamp", "date"}[t.kind]
}

func (t *htype) scalar() bool { return t.kind < kArray }

// parseHiveType parses a Hive column type.
func parseHiveType(s string) (*htype, error) {
	p := &typeParser{s: s}
	t, err := p.parse(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q in type %q", p.s[p.i:], s)
	}
	return t, nil
}

type typeParser struct {
	s string
	i int
}

func (p *typeParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *typeParser) word() string {
	p.space()
	j := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			p.i++
			continue
		}
		break
	}
	return p.s[j:p.i]
}

func (p *typeParser) expect(c byte) error {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != c {
		return fmt.Errorf("expected %q at offset %d of type %q", c, p.i, p.s)
	}
	p.i++
	return nil
}

func (p *typeParser) peek(c byte) bool {
	p.space()
	return p.i < len(p.s) && p.s[p.i] == c
}

func (p *typeParser) number() (int, error) {
	w := p.word()
	n, err := strconv.Atoi(w)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("expected a number at offset %d of type %q", p.i, p.s)
	}
	return n, nil
}

func (p *typeParser) parse(depth int) (*htype, error) {
	if depth > 32 {
		return nil, errors.New("type nested too deeply")
	}
	name := strings.ToLower(p.word())
	switch name {
	case "string":
		return &htype{kind: kString}, nil
	case "varchar", "char":
		t := &htype{kind: kVarchar}
		if name == "char" {
			t.kind = kChar
		}
		if err := p.expect('('); err != nil {
			return nil, err
		}
		n, err := p.number()
		if err != nil {
			return nil, err
		}
		if n < 1 || (t.kind == kChar && n > 255) || n > 65535 {
			return nil, fmt.Errorf("invalid length %d for %s", n, name)
		}
		t.length = n
		return t, p.expect(')')
	case "tinyint":
		return &htype{kind: kTinyint}, nil
	case "smallint":
		return &htype{kind: kSmallint}, nil
	case "int", "integer":
		return &htype{kind: kInt}, nil
	case "bigint":
		return &htype{kind: kBigint}, nil
	case "float":
		return &htype{kind: kFloat}, nil
	case "double":
		if p.peekWord("precision") {
			p.word()
		}
		return &htype{kind: kDouble}, nil
	case "boolean":
		return &htype{kind: kBoolean}, nil
	case "timestamp":
		return &htype{kind: kTimestamp}, nil
	case "date":
		return &htype{kind: kDate}, nil
	case "decimal", "numeric":
		t := &htype{kind: kDecimal, precision: 10, scale: 0} // Hive's default
		if p.peek('(') {
			p.i++
			n, err := p.number()
			if err != nil {
				return nil, err
			}
			t.precision = n
			if p.peek(',') {
				p.i++
				if t.scale, err = p.number(); err != nil {
					return nil, err
				}
			}
			if err := p.expect(')'); err != nil {
				return nil, err
			}
		}
		if t.precision < 1 || t.precision > 38 || t.scale > t.precision {
			return nil, fmt.Errorf("invalid decimal(%d,%d)", t.precision, t.scale)
		}
		return t, nil
	case "array":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		e, err := p.parse(depth + 1)
		if err != nil {
			return nil, err
		}
		return &htype{kind: kArray, elem: e}, p.expect('>')
	case "map":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		k, err := p.parse(depth + 1)
		if err != nil {
			return nil, err
		}
		if !k.scalar() {
			return nil, fmt.Errorf("map keys must be of a primitive type, not %s", k)
		}
		if err := p.expect(','); err != nil {
			return nil, err
		}
		v, err := p.parse(depth + 1)
		if err != nil {
			return nil, err
		}
		return &htype{kind: kMap, key: k, val: v}, p.expect('>')
	case "struct":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		t := &htype{kind: kStruct}
		seen := map[string]bool{}
		for {
			p.space()
			var fname string
			if p.peek('`') {
				p.i++
				j := strings.IndexByte(p.s[p.i:], '`')
				if j < 0 {
					return nil, fmt.Errorf("unterminated field name in type %q", p.s)
				}
				fname = p.s[p.i : p.i+j]
				p.i += j + 1
			} else {
				fname = p.word()
			}
			if fname == "" {
				return nil, fmt.Errorf("expected a field name at offset %d of type %q", p.i, p.s)
			}
			fname = strings.ToLower(fname)
			if seen[fname] {
				return nil, fmt.Errorf("duplicate field %s", fname)
			}
			seen[fname] = true
			if err := p.expect(':'); err != nil {
				return nil, err
			}
			ft, err := p.parse(depth + 1)
			if err != nil {
				return nil, err
			}
			t.fields = append(t.fields, hfield{name: fname, t: ft})
			if p.peek(',') {
				p.i++
				continue
			}
			break
		}
		return t, p.expect('>')
	case "":
		return nil, fmt.Errorf("expected a type at offset %d of %q", p.i, p.s)
	}
	return nil, fmt.Errorf("type %s is not supported for format conversion", name)
}

func (p *typeParser) peekWord(w string) bool {
	save := p.i
	got := p.word()
	p.i = save
	return strings.EqualFold(got, w)
}

// index builds the struct's JSON key lookup (recursively): keys are
// matched as the deserializer normalizes them; top-level columns also
// answer to their ColumnToJsonKeyMappings key.
func (t *htype) index(so serdeOptions, top bool) {
	switch t.kind {
	case kArray:
		t.elem.index(so, false)
	case kMap:
		t.val.index(so, false)
	case kStruct:
		t.byKey = map[string]int{}
		for i, f := range t.fields {
			f.t.index(so, false)
			t.byKey[so.key(f.name)] = i
		}
		if top {
			for i, f := range t.fields {
				if k, ok := so.mappings[f.name]; ok {
					t.byKey[so.key(k)] = i
				}
			}
		}
		t.ci, t.dots = so.caseInsensitive, so.dots
	}
}

// layout assigns leaf columns and levels. def is the definition level of
// the enclosing value (0 at the top); every node is optional but a map's key.
func (t *htype) layout(col, def, rep int) int {
	t.col, t.def, t.rep = col, def, rep
	end := col
	switch t.kind {
	case kStruct:
		for _, f := range t.fields {
			end = f.t.layout(end, t.def+1, rep)
		}
	case kArray:
		// optional group (LIST) { repeated group list { optional element } }
		end = t.elem.layout(end, t.def+2, rep+1)
	case kMap:
		// optional group (MAP) { repeated group key_value { required key; optional value } }
		end = t.key.layout(end, t.def+1, rep+1) // required: no level of its own
		end = t.val.layout(end, t.def+2, rep+1)
	default:
		end = col + 1
	}
	t.ncols = end - col
	return end
}

// group returns the Parquet group of a struct's fields, in their order.
func (t *htype) group(dict bool) parquet.Node {
	g := orderedGroup{Group: parquet.Group{}}
	for _, f := range t.fields {
		n := f.t.node(dict)
		g.Group[f.name] = n
		g.fields = append(g.fields, namedField{Node: n, name: f.name})
	}
	return g
}

// node returns t's Parquet node, optional.
func (t *htype) node(dict bool) parquet.Node {
	return parquet.Optional(t.required(dict))
}

func (t *htype) required(dict bool) parquet.Node {
	var n parquet.Node
	switch t.kind {
	case kString, kVarchar, kChar:
		n = parquet.String()
	case kTinyint:
		n = parquet.Int(8)
	case kSmallint:
		n = parquet.Int(16)
	case kInt:
		n = parquet.Int(32)
	case kBigint:
		n = parquet.Int(64)
	case kFloat:
		n = parquet.Leaf(parquet.FloatType)
	case kDouble:
		n = parquet.Leaf(parquet.DoubleType)
	case kBoolean:
		return parquet.Leaf(parquet.BooleanType)
	case kTimestamp:
		n = parquet.Leaf(parquet.Int96Type)
	case kDate:
		n = parquet.Date()
	case kDecimal:
		n = parquet.Decimal(t.scale, t.precision, parquet.FixedLenByteArrayType(decimalBytes(t.precision)))
	case kArray:
		return parquet.List(t.elem.node(dict))
	case kMap:
		return parquet.Map(t.key.required(dict), t.val.node(dict))
	case kStruct:
		return t.group(dict)
	}
	if dict {
		n = parquet.Encoded(n, &parquet.RLEDictionary)
	}
	return n
}

// decimalBytes is the fewest bytes of a two's complement integer that hold
// every unscaled value of precision digits (Hive's ParquetHiveSerDe sizes).
func decimalBytes(precision int) int {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil)
	return (max.BitLen() + 1 + 7) / 8
}

// orderedGroup is a Parquet group whose fields keep the table's order
// (parquet.Group sorts them by name).
type orderedGroup struct {
	parquet.Group
	fields []parquet.Field
}

func (g orderedGroup) Fields() []parquet.Field { return g.fields }

func (g orderedGroup) String() string { return g.Group.String() }

type namedField struct {
	parquet.Node
	name string
}

func (f namedField) Name() string { return f.name }

func (f namedField) Value(base reflect.Value) reflect.Value {
	if base.Kind() == reflect.Map {
		return base.MapIndex(reflect.ValueOf(f.name))
	}
	return reflect.Value{}
}

// Shredding: a JSON value into column values with their levels.

// nulls appends a null to each of t's columns at definition level def.
func (t *htype) nulls(cols [][]parquet.Value, rep, def int) {
	for c := t.col; c < t.col+t.ncols; c++ {
		cols[c] = append(cols[c], parquet.Value{}.Level(rep, def, c))
	}
}

func (t *htype) shred(p *conversionPlan, cols [][]parquet.Value, v any, rep int) error {
	if v == nil {
		t.nulls(cols, rep, t.def-1)
		return nil
	}
	switch t.kind {
	case kStruct:
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("expected a JSON object for %s, got %s", t, jsonKind(v))
		}
		return t.shredFields(p, cols, obj, rep)
	case kArray:
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("expected a JSON array for %s, got %s", t, jsonKind(v))
		}
		if len(arr) == 0 {
			t.nulls(cols, rep, t.def)
			return nil
		}
		for i, e := range arr {
			r := rep
			if i > 0 {
				r = t.rep + 1
			}
			if err := t.elem.shred(p, cols, e, r); err != nil {
				return err
			}
		}
		return nil
	case kMap:
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("expected a JSON object for %s, got %s", t, jsonKind(v))
		}
		if len(obj) == 0 {
			t.nulls(cols, rep, t.def)
			return nil
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			r := rep
			if i > 0 {
				r = t.rep + 1
			}
			kv, err := t.key.leaf(p, k)
			if err != nil {
				return fmt.Errorf("map key %q: %v", k, err)
			}
			cols[t.key.col] = append(cols[t.key.col], kv.Level(r, t.key.def, t.key.col))
			if err := t.val.shred(p, cols, obj[k], r); err != nil {
				return err
			}
		}
		return nil
	}
	pv, err := t.leaf(p, v)
	if err != nil {
		return err
	}
	cols[t.col] = append(cols[t.col], pv.Level(rep, t.def, t.col))
	return nil
}

// shredFields shreds obj's fields (the top-level columns or a struct's).
func (t *htype) shredFields(p *conversionPlan, cols [][]parquet.Value, obj map[string]any, rep int) error {
	var stack [16]any
	vals := stack[:0]
	if len(t.fields) > len(stack) {
		vals = make([]any, 0, len(t.fields))
	}
	vals = vals[:len(t.fields)]
	ci, dots := t.ci, t.dots
	for k, v := range obj {
		i, ok := t.byKey[k]
		if !ok && (ci || dots) {
			nk := k
			if ci {
				nk = strings.ToLower(nk)
			}
			if dots {
				nk = strings.ReplaceAll(nk, ".", "_")
			}
			i, ok = t.byKey[nk]
		}
		if ok {
			vals[i] = v
		}
	}
	for i, f := range t.fields {
		if err := f.t.shred(p, cols, vals[i], rep); err != nil {
			if t.def == 0 {
				return fmt.Errorf("column %s: %v", f.name, err)
			}
			return fmt.Errorf("field %s: %v", f.name, err)
		}
	}
	return nil
}

// leaf converts a JSON scalar to a value of t.
func (t *htype) leaf(p *conversionPlan, v any) (parquet.Value, error) {
	switch t.kind {
	case kString, kVarchar, kChar:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case json.Number:
			s = string(x)
		case bool:
			s = strconv.FormatBool(x)
		default:
			b, _ := json.Marshal(x)
			s = string(b)
		}
		if t.length > 0 && utf8.RuneCountInString(s) > t.length {
			r := []rune(s)
			s = string(r[:t.length])
		}
		return parquet.ByteArrayValue([]byte(s)), nil
	case kTinyint, kSmallint, kInt, kBigint:
		s, ok := numberText(v)
		if !ok {
			return parquet.Value{}, fmt.Errorf("cannot convert %s to %s", jsonKind(v), t)
		}
		bits := [...]int{kTinyint: 8, kSmallint: 16, kInt: 32, kBigint: 64}[t.kind]
		n, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			return parquet.Value{}, fmt.Errorf("for input string: %q (%s)", s, t)
		}
		if t.kind == kBigint {
			return parquet.Int64Value(n), nil
		}
		return parquet.Int32Value(int32(n)), nil
	case kFloat, kDouble:
		s, ok := numberText(v)
		if !ok {
			return parquet.Value{}, fmt.Errorf("cannot convert %s to %s", jsonKind(v), t)
		}
		bits := 64
		if t.kind == kFloat {
			bits = 32
		}
		f, err := strconv.ParseFloat(s, bits)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return parquet.Value{}, fmt.Errorf("for input string: %q (%s)", s, t)
		}
		if t.kind == kFloat {
			return parquet.FloatValue(float32(f)), nil
		}
		return parquet.DoubleValue(f), nil
	case kBoolean:
		switch x := v.(type) {
		case bool:
			return parquet.BooleanValue(x), nil
		case string:
			if strings.EqualFold(x, "true") {
				return parquet.BooleanValue(true), nil
			}
			if strings.EqualFold(x, "false") {
				return parquet.BooleanValue(false), nil
			}
		}
		return parquet.Value{}, fmt.Errorf("cannot convert %s to boolean", jsonKind(v))
	case kTimestamp:
		ts, err := p.timestamp(v)
		if err != nil {
			return parquet.Value{}, err
		}
		return parquet.Int96Value(int96Of(ts)), nil
	case kDate:
		s, ok := v.(string)
		if !ok {
			return parquet.Value{}, fmt.Errorf("cannot convert %s to date", jsonKind(v))
		}
		d, err := time.ParseInLocation("2006-1-2", strings.TrimSpace(s), time.UTC)
		if err != nil {
			return parquet.Value{}, fmt.Errorf("cannot parse date %q", s)
		}
		return parquet.Int32Value(int32(d.Unix() / 86400)), nil
	case kDecimal:
		s, ok := numberText(v)
		if !ok {
			return parquet.Value{}, fmt.Errorf("cannot convert %s to %s", jsonKind(v), t)
		}
		b, err := decimalValue(s, t.precision, t.scale)
		if err != nil {
			return parquet.Value{}, fmt.Errorf("%v (%s)", err, t)
		}
		return parquet.FixedLenByteArrayValue(b), nil
	}
	return parquet.Value{}, fmt.Errorf("cannot convert %s to %s", jsonKind(v), t)
}

// numberText is a JSON number's text, or a string's (both deserializers
// parse numbers given as strings).
func numberText(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return string(x), true
	case string:
		return strings.TrimSpace(x), true
	}
	return "", false
}

// int96Of is t in Parquet's INT96 timestamp layout: nanoseconds of the day,
// then the Julian day number.
func int96Of(t time.Time) deprecated.Int96 {
	const julianEpoch = 2440588 // Julian day of 1970-01-01
	sec := t.Unix()
	day := sec / 86400
	if sec%86400 < 0 {
		day--
	}
	nanos := uint64(t.Sub(time.Unix(day*86400, 0).UTC()))
	return deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(day + julianEpoch)}
}

// timeOfInt96 is the inverse of int96Of.
func timeOfInt96(v deprecated.Int96) time.Time {
	nanos := int64(uint64(v[0]) | uint64(v[1])<<32)
	day := int64(v[2]) - 2440588
	return time.Unix(day*86400, nanos).UTC()
}

// decimalValue is the unscaled value of s at scale, rounded half up as
// Hive's HiveDecimal does, as a big-endian two's complement of
// decimalBytes(precision) bytes.
func decimalValue(s string, precision, scale int) ([]byte, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok || len(s) > 400 {
		return nil, fmt.Errorf("for input string: %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	num, den := r.Num(), r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Sign() != 0 {
		// half up (away from zero at .5)
		if new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2)).Cmp(den) >= 0 {
			if num.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil)
	if new(big.Int).Abs(q).Cmp(limit) >= 0 {
		return nil, fmt.Errorf("value %s does not fit", s)
	}
	n := decimalBytes(precision)
	out := make([]byte, n)
	if q.Sign() >= 0 {
		q.FillBytes(out)
	} else {
		// two's complement: 2^(8n) + q
		mod := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
		mod.Add(mod, q).FillBytes(out)
	}
	return out, nil
}

// decimalString is the inverse of decimalValue (for tests and errors).
func decimalString(b []byte, scale int) string {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	r := new(big.Rat).SetFrac(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	return r.FloatString(scale)
}

// Timestamps.

// timestamp parses a timestamp as the plan's deserializer does.
func (p *conversionPlan) timestamp(v any) (time.Time, error) {
	if p.hive {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case json.Number:
			s = string(x)
		default:
			return time.Time{}, fmt.Errorf("cannot convert %s to timestamp", jsonKind(v))
		}
		for _, f := range p.tsFormats {
			if t, err := f.parse(s); err == nil {
				return t, nil
			}
		}
		// java.sql.Timestamp.valueOf: the default, and the fallback.
		if t, err := time.ParseInLocation("2006-1-2 15:04:05", strings.TrimSpace(s), time.UTC); err == nil {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("cannot parse timestamp %q", s)
	}
	// OpenX.
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		s = string(x)
	default:
		return time.Time{}, fmt.Errorf("cannot convert %s to timestamp", jsonKind(v))
	}
	if t, ok := epochTime(s); ok {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05Z07:00", "2006-1-2 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse timestamp %q", s)
}

// epochTime parses epoch seconds, epoch milliseconds (more than ten
// digits) or fractional epoch seconds.
func epochTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	digits := strings.TrimPrefix(s, "-")
	if ip, fp, ok := strings.Cut(digits, "."); ok && !strings.ContainsAny(digits, "eE") && len(fp) <= 9 && len(ip) <= 11 {
		// exact decimal seconds
		sec, err1 := strconv.ParseInt(ip, 10, 64)
		frac, err2 := strconv.ParseInt((fp + "000000000")[:9], 10, 64)
		if err1 != nil || err2 != nil || strings.ContainsAny(fp, "+-") || strings.ContainsAny(ip, "+-") {
			return time.Time{}, false
		}
		if strings.HasPrefix(s, "-") {
			sec, frac = -sec, -frac
		}
		return time.Unix(sec, frac).UTC(), true
	}
	if strings.ContainsAny(digits, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
			return time.Time{}, false
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	if len(digits) > 10 {
		return time.UnixMilli(n).UTC(), true
	}
	return time.Unix(n, 0).UTC(), true
}

// tsFormat is a compiled HiveJsonSerDe timestamp format.
type tsFormat struct {
	millis bool
	layout string // Go layout of the Joda pattern
}

func (f tsFormat) parse(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if f.millis {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		return time.UnixMilli(n).UTC(), nil
	}
	t, err := time.ParseInLocation(f.layout, s, time.UTC)
	return t.UTC(), err
}

// compileTimestampFormat translates a Joda DateTimeFormat pattern (the
// letters timestamps use: y M d H h m s S a Z E, quoted literals) to a Go
// layout, or takes "millis".
func compileTimestampFormat(pat string) (tsFormat, error) {
	if pat == "millis" {
		return tsFormat{millis: true}, nil
	}
	var b strings.Builder
	for i := 0; i < len(pat); {
		c := pat[i]
		j := i
		for j < len(pat) && pat[j] == c {
			j++
		}
		n := j - i
		switch c {
		case '\'':
			// quoted literal; '' is a quote
			if n >= 2 && n%2 == 0 {
				b.WriteString(strings.Repeat("'", n/2))
				i = j
				continue
			}
			k := i + 1
			for {
				e := strings.IndexByte(pat[k:], '\'')
				if e < 0 {
					return tsFormat{}, fmt.Errorf("unterminated quote in timestamp format %q", pat)
				}
				lit := pat[k : k+e]
				if strings.ContainsAny(lit, "0123456789") || containsGoToken(lit) {
					return tsFormat{}, fmt.Errorf("timestamp format %q: literal %q is not supported", pat, lit)
				}
				b.WriteString(lit)
				k += e + 1
				if k < len(pat) && pat[k] == '\'' {
					b.WriteByte('\'')
					k++
					continue
				}
				break
			}
			i = k
			continue
		case 'y', 'Y':
			if n == 2 {
				b.WriteString("06")
			} else {
				b.WriteString("2006")
			}
		case 'M':
			switch {
			case n == 1:
				b.WriteString("1")
			case n == 2:
				b.WriteString("01")
			case n == 3:
				b.WriteString("Jan")
			default:
				b.WriteString("January")
			}
		case 'd':
			if n == 1 {
				b.WriteString("2")
			} else {
				b.WriteString("02")
			}
		case 'H', 'k':
			b.WriteString("15")
		case 'h', 'K':
			if n == 1 {
				b.WriteString("3")
			} else {
				b.WriteString("03")
			}
		case 'm':
			if n == 1 {
				b.WriteString("4")
			} else {
				b.WriteString("04")
			}
		case 's':
			if n == 1 {
				b.WriteString("5")
			} else {
				b.WriteString("05")
			}
		case 'S':
			s := b.String()
			if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, ",") {
				return tsFormat{}, fmt.Errorf("timestamp format %q: fraction of second must follow '.' or ','", pat)
			}
			b.WriteString(strings.Repeat("0", min(n, 9)))
		case 'a':
			b.WriteString("PM")
		case 'Z':
			if n == 1 {
				b.WriteString("-0700")
			} else {
				b.WriteString("-07:00")
			}
		case 'E':
			if n <= 3 {
				b.WriteString("Mon")
			} else {
				b.WriteString("Monday")
			}
		default:
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				return tsFormat{}, fmt.Errorf("timestamp format %q: pattern letter %q is not supported", pat, c)
			}
			if c >= '0' && c <= '9' {
				return tsFormat{}, fmt.Errorf("timestamp format %q: digits must be quoted", pat)
			}
			b.WriteString(pat[i:j])
		}
		i = j
	}
	return tsFormat{layout: b.String()}, nil
}

// containsGoToken reports whether a literal would be read as part of a Go
// layout.
func containsGoToken(s string) bool {
	for _, tok := range []string{"Jan", "Mon", "MST", "PM", "pm", "Z07", "-07", "_2"} {
		if strings.Contains(s, tok) {
			return true
		}
	}
	return false
}
