package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrSourceNotFound is what a StreamSampler or ObjectReader returns
// (wrapped) when the stream, bucket or object does not exist.
var ErrSourceNotFound = errors.New("analytics: source not found")

// StreamSampler reads sample records from a Kinesis data stream for schema
// discovery. position is NOW, TRIM_HORIZON or LAST_STOPPED_POINT (read as
// TRIM_HORIZON: discovery has no stopped point); NOW may wait briefly for
// records. It returns at most max records.
type StreamSampler interface {
	Sample(ctx context.Context, streamARN, position string, max int) ([][]byte, error)
}

// ObjectReader reads an S3 object (at most maxBytes of it) for schema
// discovery, in the caller's account.
type ObjectReader interface {
	GetObject(ctx context.Context, account, bucket, key string, maxBytes int64) ([]byte, error)
}

// Discovery limits.
const (
	DiscoverSampleRecords = 100     // records read from a stream
	DiscoverMaxObject     = 1 << 20 // bytes read from an S3 object
)

// DiscoverInput is a DiscoverInputSchema request, decoded: a stream
// (ResourceARN and position) or an S3 object (BucketARN and FileKey).
type DiscoverInput struct {
	ResourceARN, Position string
	BucketARN, FileKey    string
	// Processing is the Lambda preprocessor, if given.
	Processing *Processing
}

// Discovery is a DiscoverInputSchema answer.
type Discovery struct {
	InputSchema           SourceSchema
	ParsedInputRecords    [][]string
	RawInputRecords       []string
	ProcessedInputRecords []string
}

// Discover infers the schema of a stream's or an S3 object's records.
func (s *Service) Discover(ctx context.Context, sc Scope, in DiscoverInput) (*Discovery, error) {
	sc = s.scope(sc)
	if in.Processing != nil {
		return nil, errorf(KindInvalidArgument, "Schema discovery through an input processing configuration (Lambda preprocessor) is not served by this endpoint yet; discover without it.")
	}
	var raw [][]byte
	switch {
	case in.ResourceARN != "" && in.BucketARN != "":
		return nil, errorf(KindInvalidArgument, "Give either ResourceARN or S3Configuration, not both.")
	case in.ResourceARN != "":
		if !strings.Contains(in.ResourceARN, ":kinesis:") || !strings.Contains(in.ResourceARN, ":stream/") {
			return nil, errorf(KindInvalidArgument, "Schema discovery reads Kinesis data streams; %s is not a stream ARN.", in.ResourceARN)
		}
		if s.cfg.Streams == nil {
			return nil, errorf(KindUnavailable, "Kinesis data streams cannot be read on this server.")
		}
		pos := in.Position
		if pos == "" {
			pos = PositionNow
		}
		recs, err := s.cfg.Streams.Sample(ctx, in.ResourceARN, pos, DiscoverSampleRecords)
		if errors.Is(err, ErrSourceNotFound) {
			return nil, &Error{Kind: KindInvalidArgument, Msg: "Stream " + in.ResourceARN + " not found.", Err: err}
		}
		if err != nil {
			return nil, &Error{Kind: KindUnavailable, Msg: "Reading stream " + in.ResourceARN + " failed: " + err.Error(), Err: err}
		}
		raw = recs
	case in.BucketARN != "":
		bucket, ok := strings.CutPrefix(in.BucketARN, "arn:aws:s3:::")
		if !ok || bucket == "" || strings.Contains(bucket, "/") || in.FileKey == "" {
			return nil, errorf(KindInvalidArgument, "S3Configuration needs a bucket ARN (arn:aws:s3:::bucket) and a FileKey.")
		}
		if s.cfg.Objects == nil {
			return nil, errorf(KindUnavailable, "S3 objects cannot be read on this server.")
		}
		b, err := s.cfg.Objects.GetObject(ctx, sc.Account, bucket, in.FileKey, DiscoverMaxObject)
		if errors.Is(err, ErrSourceNotFound) {
			return nil, &Error{Kind: KindInvalidArgument, Msg: "Object s3://" + bucket + "/" + in.FileKey + " not found.", Err: err}
		}
		if err != nil {
			return nil, &Error{Kind: KindUnavailable, Msg: "Reading s3://" + bucket + "/" + in.FileKey + " failed: " + err.Error(), Err: err}
		}
		raw = splitObject(b)
	default:
		return nil, errorf(KindInvalidArgument, "Either ResourceARN or S3Configuration must be provided.")
	}
	return InferSchema(raw)
}

// splitObject cuts an S3 object into records: one JSON document if the
// whole object is one, else one record per line.
func splitObject(b []byte) [][]byte {
	t := bytes.TrimSpace(b)
	if len(t) > 0 && t[0] == '{' && json.Valid(t) {
		return [][]byte{t}
	}
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimRight(l, "\r")
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
		if len(out) >= DiscoverSampleRecords {
			break
		}
	}
	return out
}

// InferSchema infers a schema from sample records: JSON when records are
// JSON objects (RecordRowPath "$", one column per member, Mapping
// "$.member", nested objects flattened), else CSV ("\n" rows, ","
// columns, COLUMN1…). SQL types follow what AWS's discovery returns:
// INTEGER or BIGINT for whole numbers, REAL for others (DOUBLE beyond
// REAL's range), BOOLEAN, TIMESTAMP for ISO date-times, else VARCHAR(n),
// n the longest value rounded up to a power of two ("AMZN" → VARCHAR(4),
// "TECHNOLOGY" → VARCHAR(16), as in AWS's Getting Started schema).
func InferSchema(raw [][]byte) (*Discovery, error) {
	d := &Discovery{RawInputRecords: []string{}, ProcessedInputRecords: []string{}, ParsedInputRecords: [][]string{}}
	var texts []string
	for _, r := range raw {
		if !utf8.Valid(r) {
			continue
		}
		texts = append(texts, string(r))
	}
	if len(texts) == 0 {
		return nil, errorf(KindUnableToDetectSchema, "No records were read from the source, so no schema could be inferred: put records on it and retry.")
	}
	d.RawInputRecords = texts
	d.ProcessedInputRecords = texts
	if schema, rows, ok := inferJSON(texts); ok {
		d.InputSchema, d.ParsedInputRecords = schema, rows
		return d, nil
	}
	if schema, rows, ok := inferCSV(texts); ok {
		d.InputSchema, d.ParsedInputRecords = schema, rows
		return d, nil
	}
	return nil, errorf(KindUnableToDetectSchema, "Unable to detect the schema of the %d records read: they are neither JSON objects nor comma-separated values.", len(texts))
}

// colType accumulates what a column's values look like.
type colType struct {
	name, mapping string
	seen          bool // a non-null value
	boolean       bool // every value a boolean
	integer       bool // every value a whole number
	number        bool // every value a number
	timestamp     bool // every value an ISO date-time string
	big, wide     bool // a whole number beyond INTEGER; a number beyond REAL
	maxLen        int
}

func newCol(name, mapping string) *colType {
	return &colType{name: name, mapping: mapping, boolean: true, integer: true, number: true, timestamp: true}
}

var timestampPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$`)

// add notes a value: its JSON kind (for JSON) and its text.
func (c *colType) add(kind byte, text string) {
	if kind == 'n' { // null
		return
	}
	c.seen = true
	if len(text) > c.maxLen {
		c.maxLen = len(text)
	}
	if kind != 'b' {
		c.boolean = false
	}
	if kind == 's' || kind == '#' {
		// '#' is CSV text: numbers are recognised in it.
		if kind == '#' {
			if _, err := strconv.ParseInt(text, 10, 64); err == nil {
				c.noteNumber(text)
				c.timestamp = false
				return
			}
			if f, err := strconv.ParseFloat(text, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				c.noteNumber(text)
				c.timestamp = false
				return
			}
		}
		c.integer, c.number = false, false
		if !timestampPattern.MatchString(text) {
			c.timestamp = false
		}
		return
	}
	c.timestamp = false
	if kind != 'd' {
		c.integer, c.number = false, false
		return
	}
	c.noteNumber(text)
}

func (c *colType) noteNumber(text string) {
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		if i > math.MaxInt32 || i < math.MinInt32 {
			c.big = true
		}
		return
	}
	c.integer = false
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		if a := math.Abs(f); a > math.MaxFloat32 || (a != 0 && a < math.SmallestNonzeroFloat32) {
			c.wide = true
		}
		return
	}
	c.number = false
}

func (c *colType) sqlType() string {
	switch {
	case !c.seen:
		return "VARCHAR(4)"
	case c.boolean:
		return "BOOLEAN"
	case c.integer && c.big:
		return "BIGINT"
	case c.integer:
		return "INTEGER"
	case c.number && c.wide:
		return "DOUBLE"
	case c.number:
		return "REAL"
	case c.timestamp:
		return "TIMESTAMP"
	}
	n := 1
	for n < c.maxLen {
		n *= 2
	}
	return "VARCHAR(" + strconv.Itoa(n) + ")"
}

// reserved are the SQL words AWS's discovery prefixes with COL_ when a
// member is named after one (a column "timestamp" is COL_timestamp).
var reserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`ALL AND ANY ARRAY AS ASC AT BETWEEN BIGINT BINARY BOOLEAN BOTH BY CASE CAST CHAR
		CHARACTER CHECK COLUMN COUNT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURSOR DATE DAY
		DECIMAL DEFAULT DELETE DESC DISTINCT DOUBLE DROP ELSE END EXCEPT EXISTS FALSE FLOAT FLOOR FOR FROM FULL GROUP
		HAVING HOUR IN INNER INSERT INT INTEGER INTERSECT INTERVAL INTO IS JOIN LEADING LEFT LIKE LIMIT MINUTE MONTH
		NATURAL NOT NULL NUMERIC OF ON OR ORDER OUTER OVER PARTITION POSITION PRECEDING RANGE REAL RIGHT ROW ROWS
		ROWTIME SECOND SELECT SET SMALLINT STREAM TABLE THEN TIME TIMESTAMP TO TRAILING TRUE UNION UPDATE USER VALUE
		VALUES VARCHAR WHEN WHERE WINDOW WITH YEAR`) {
		reserved[w] = true
	}
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9_]`)

func columnName(member string) string {
	n := nonIdent.ReplaceAllString(member, "_")
	if n == "" || n[0] >= '0' && n[0] <= '9' || reserved[strings.ToUpper(n)] {
		n = "COL_" + n
	}
	return n
}

func inferJSON(texts []string) (SourceSchema, [][]string, bool) {
	var cols []*colType
	byPath := map[string]*colType{}
	names := map[string]bool{}
	var docs []*object
	for _, t := range texts {
		m, ok := decodeObject(t)
		if !ok {
			continue
		}
		docs = append(docs, m)
		walkJSON(m, "$", func(path, leaf string, v any) {
			c := byPath[path]
			if c == nil {
				name := columnName(leaf)
				if names[strings.ToUpper(name)] {
					name = columnName(strings.ReplaceAll(strings.TrimPrefix(path, "$."), ".", "_"))
				}
				names[strings.ToUpper(name)] = true
				c = newCol(name, path)
				byPath[path] = c
				cols = append(cols, c)
			}
			kind, text := jsonKind(v)
			c.add(kind, text)
		})
	}
	if len(docs) == 0 || len(cols) == 0 {
		return SourceSchema{}, nil, false
	}
	schema := SourceSchema{RecordEncoding: "UTF-8", RecordFormat: RecordFormat{RecordFormatType: "JSON",
		MappingParameters: &MappingParameters{JSONMappingParameters: &JSONMapping{RecordRowPath: "$"}}}}
	for _, c := range cols {
		schema.RecordColumns = append(schema.RecordColumns, RecordColumn{Name: c.name, Mapping: c.mapping, SqlType: c.sqlType()})
	}
	rows := make([][]string, 0, len(docs))
	for _, m := range docs {
		vals := map[string]string{}
		walkJSON(m, "$", func(path, _ string, v any) {
			if _, text := jsonKind(v); v != nil {
				vals[path] = text
			}
		})
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = vals[c.mapping]
		}
		rows = append(rows, row)
	}
	return schema, rows, true
}

// walkJSON calls fn for each leaf member (nested objects are walked;
// arrays are leaves) in document order.
func walkJSON(m *object, path string, fn func(path, leaf string, v any)) {
	for _, k := range m.keys {
		v := m.vals[k]
		p := path + "." + k
		if sub, ok := v.(*object); ok && len(sub.keys) > 0 {
			walkJSON(sub, p, fn)
			continue
		}
		fn(p, k, v)
	}
}

func jsonKind(v any) (byte, string) {
	switch x := v.(type) {
	case nil:
		return 'n', ""
	case bool:
		return 'b', strconv.FormatBool(x)
	case json.Number:
		return 'd', x.String()
	case string:
		return 's', x
	default:
		b, _ := json.Marshal(plain(x))
		return 'o', string(b)
	}
}

func inferCSV(texts []string) (SourceSchema, [][]string, bool) {
	var rows [][]string
	width := 0
	delimited := false
	for _, t := range texts {
		for _, line := range strings.Split(t, "\n") {
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			f := strings.Split(line, ",")
			if len(f) > 1 {
				delimited = true
			}
			if len(f) > width {
				width = len(f)
			}
			rows = append(rows, f)
		}
	}
	if !delimited {
		return SourceSchema{}, nil, false
	}
	cols := make([]*colType, width)
	for i := range cols {
		cols[i] = newCol("COLUMN"+strconv.Itoa(i+1), "")
	}
	for ri, r := range rows {
		for i, v := range r {
			cols[i].add('#', strings.TrimSpace(v))
		}
		for len(r) < width {
			r = append(r, "")
		}
		rows[ri] = r
	}
	schema := SourceSchema{RecordEncoding: "UTF-8", RecordFormat: RecordFormat{RecordFormatType: "CSV",
		MappingParameters: &MappingParameters{CSVMappingParameters: &CSVMapping{RecordRowDelimiter: "\n", RecordColumnDelimiter: ","}}}}
	for _, c := range cols {
		schema.RecordColumns = append(schema.RecordColumns, RecordColumn{Name: c.name, SqlType: c.sqlType()})
	}
	return schema, rows, true
}

// object is a JSON object with its members in document order.
type object struct {
	keys []string
	vals map[string]any
}

// decodeObject decodes one JSON object keeping member order (the inferred
// columns follow the first record's order, as AWS's do); ok is false for
// anything but exactly one object.
func decodeObject(text string) (*object, bool) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err == nil {
		return nil, false // trailing data
	}
	o, ok := v.(*object)
	return o, ok
}

func decodeValue(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch d := t.(type) {
	case json.Delim:
		switch d {
		case '{':
			o := &object{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				if _, dup := o.vals[k]; !dup {
					o.keys = append(o.keys, k)
				}
				o.vals[k] = v
			}
			_, err := dec.Token()
			return o, err
		case '[':
			var l []any
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return l, err
		}
		return nil, errors.New("unexpected delimiter")
	default:
		return t, nil
	}
}

func (o *object) plain() map[string]any {
	m := make(map[string]any, len(o.keys))
	for _, k := range o.keys {
		m[k] = plain(o.vals[k])
	}
	return m
}

func plain(v any) any {
	switch x := v.(type) {
	case *object:
		return x.plain()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}
