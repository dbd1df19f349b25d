package firehose

// The Redshift destination, served against any PostgreSQL-protocol
// warehouse. AWS delivers to Redshift in two steps (developer guide,
// "Data delivery failure handling: Amazon Redshift"; API reference
// RedshiftDestinationConfiguration, CopyCommand): it writes each batch as
// an object to the intermediate bucket (the S3Configuration, AWS's object
// naming), then has the cluster run
//
//	COPY <DataTableName> (<DataTableColumns>) FROM 's3://…manifest' … MANIFEST <CopyOptions>
//
// A warehouse that is not Redshift cannot read S3, so Rheos runs the second
// step itself: it loads the staged object's bytes with
//
//	COPY <DataTableName> (<DataTableColumns>) FROM STDIN WITH (…)
//
// translating the CopyOptions Firehose users write for Redshift:
//
//	(none)              PostgreSQL text, DELIMITER '|' (Redshift's default)
//	CSV [QUOTE 'q']     FORMAT csv (DELIMITER ',' unless given)
//	DELIMITER [AS] 'x'  DELIMITER 'x'
//	JSON 'auto'         records are JSON objects; keys are matched to the
//	                    columns (exactly, or case-insensitively with
//	                    'auto ignorecase'), the values sent as CSV; a
//	                    missing key or null is NULL, an object or array
//	                    its JSON text
//	GZIP                the object is gzip: decompressed before the load
//	IGNOREHEADER [AS] n the first n lines are skipped
//	NULL AS 'x'         NULL 'x'
//	TIMEFORMAT / DATEFORMAT 'auto'   accepted (PostgreSQL parses ISO 8601)
//	EMPTYASNULL, BLANKSASNULL, TRUNCATECOLUMNS, ACCEPTINVCHARS, REGION,
//	MAXERROR, COMPUPDATE, STATUPDATE    accepted and ignored
//
// Any other option is refused when the stream is created or updated. A
// failed load (connection refused, a COPY error) is retried with backoff
// (1 s, ×2 up to 1 min, ±15 % jitter) for RetryOptions.DurationInSeconds
// counted from the first failure (default 3600; 0 is one attempt); an
// object that does not decode as CopyOptions say is not retried. When the retries run out, AWS skips the
// objects and lists them in a manifest under errors/ of the intermediate
// bucket; Rheos writes the same Redshift COPY manifest
// ({"entries":[{"url":"s3://bucket/key","mandatory":true}]}) at
//
//	<Prefix>errors/manifests/YYYY/MM/dd/HH/<stream>-<version>-<time>-<uuid>
//
// so the load can be replayed by hand; the staged object stays where it
// is. With S3BackupMode Enabled the source records (before processing) are
// also written to S3BackupConfiguration.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

func init() {
	destinations[DestRedshift] = destination{
		normalize: normalizeRedshift,
		deliver:   deliverRedshift,
		redact: func(desc map[string]any) {
			delete(desc, "Password")       // never described
			delete(desc, "BufferingHints") // the S3Configuration's, copied for the delivery loop
			if b, ok := desc["S3BackupConfiguration"]; ok {
				delete(desc, "S3BackupConfiguration")
				desc["S3BackupDescription"] = b
			}
		},
	}
}

// DestRedshift is the Redshift destination kind (RedshiftDestinationConfiguration).
const DestRedshift = "Redshift"

// redshiftRetryDefault is RetryOptions.DurationInSeconds when omitted (API
// reference: default 3600, range 0–7200).
const redshiftRetryDefault = 3600

// redshiftTiming is the cadence of loads. AWS documents no backoff; this
// is ours. Only tests write it, before any delivery starts.
var redshiftTiming = struct {
	backoff time.Duration // first retry backoff, doubled up to 1 min (1 s)
	connect time.Duration // connection timeout of one attempt (30 s)
}{backoff: time.Second, connect: 30 * time.Second}

// jdbcURL is ClusterJDBCURL: AWS's pattern takes jdbc:redshift:// and
// jdbc:postgresql:// with a Redshift host name; Rheos takes any host.
var jdbcURL = regexp.MustCompile(`^jdbc:(redshift|postgresql)://([^/:?@]+)(?::(\d{1,5}))?/([A-Za-z0-9_$-]+)(?:\?(.*))?$`)

// sqlName is a table or column name as Redshift's COPY takes it: plain or
// double-quoted identifiers, dot-separated for a table.
var (
	sqlIdent = `(?:[A-Za-z_][A-Za-z0-9_$]*|"[^"\x00]+")`
	sqlTable = regexp.MustCompile(`^` + sqlIdent + `(?:\.` + sqlIdent + `){0,2}$`)
	sqlCol   = regexp.MustCompile(`^` + sqlIdent + `$`)
)

// normalizeRedshift checks a Redshift configuration and fills in AWS's defaults.
func normalizeRedshift(out map[string]any) (map[string]any, error) {
	if _, err := redshiftConnConfig(out); err != nil {
		return nil, err
	}
	if str(out, "Username") == "" || str(out, "Password") == "" {
		return nil, errorf(KindInvalidArgument, "Username and Password are required (SecretsManagerConfiguration is not served by this endpoint).")
	}
	cc := mapOf(out, "CopyCommand")
	if !sqlTable.MatchString(str(cc, "DataTableName")) {
		return nil, errorf(KindInvalidArgument, "Invalid CopyCommand.DataTableName %q: it must be a table name.", str(cc, "DataTableName"))
	}
	if _, err := copyColumns(str(cc, "DataTableColumns")); err != nil {
		return nil, err
	}
	if _, err := parseCopyOptions(str(cc, "CopyOptions")); err != nil {
		return nil, err
	}
	out["CopyCommand"] = cc
	ro := mapOf(out, "RetryOptions")
	setDefault(ro, "DurationInSeconds", int64(redshiftRetryDefault))
	if n := intOf(ro, "DurationInSeconds"); n < 0 || n > 7200 {
		return nil, errorf(KindInvalidArgument, "RetryOptions.DurationInSeconds must be between 0 and 7200, not %d.", n)
	}
	out["RetryOptions"] = ro
	if err := normalizeBackupS3(out); err != nil {
		return nil, err
	}
	s3 := mapOf(out, "S3Configuration")
	if p := str(s3, "Prefix"); strings.Contains(p, "!{") {
		return nil, errorf(KindInvalidArgument, "The S3Configuration Prefix of a Redshift destination cannot contain expressions.")
	}
	if _, ok := s3["ErrorOutputPrefix"]; ok && s3["ErrorOutputPrefix"] != nil {
		return nil, errorf(KindInvalidArgument, "The S3Configuration of a Redshift destination takes no ErrorOutputPrefix.")
	}
	switch f := str(s3, "CompressionFormat"); f {
	case "UNCOMPRESSED", "GZIP":
	default:
		return nil, errorf(KindInvalidArgument, "CompressionFormat %s is not supported for Redshift's intermediate S3 (UNCOMPRESSED or GZIP).", f)
	}
	// The delivery loop buffers by the destination's hints; Redshift's
	// are the S3Configuration's.
	out["BufferingHints"] = s3["BufferingHints"]
	if v, ok := out["S3BackupUpdate"]; ok {
		out["S3BackupConfiguration"] = mergeMaps(out["S3BackupConfiguration"], v)
		delete(out, "S3BackupUpdate")
	}
	setDefault(out, "S3BackupMode", "Disabled")
	switch m := str(out, "S3BackupMode"); m {
	case "Disabled":
	case "Enabled":
		bc := mapOf(out, "S3BackupConfiguration")
		if _, err := bucketOf(str(bc, "BucketARN")); err != nil {
			return nil, err
		}
		if err := checkPrefixes(str(bc, "Prefix"), bc["ErrorOutputPrefix"]); err != nil {
			return nil, err
		}
		bh := mapOf(bc, "BufferingHints")
		setDefault(bh, "SizeInMBs", int64(5))
		setDefault(bh, "IntervalInSeconds", int64(300))
		bc["BufferingHints"] = bh
		setDefault(bc, "CompressionFormat", "UNCOMPRESSED")
		out["S3BackupConfiguration"] = bc
	default:
		return nil, errorf(KindInvalidArgument, "Invalid S3BackupMode %q: it must be Disabled or Enabled.", m)
	}
	return out, nil
}

// redshiftConnConfig parses ClusterJDBCURL, Username and Password into a
// connection configuration.
func redshiftConnConfig(conf map[string]any) (*pgx.ConnConfig, error) {
	raw := str(conf, "ClusterJDBCURL")
	sub := jdbcURL.FindStringSubmatch(raw)
	if sub == nil {
		return nil, errorf(KindInvalidArgument, "Invalid ClusterJDBCURL %q: it must be jdbc:redshift://host:port/database or jdbc:postgresql://host:port/database.", raw)
	}
	port := sub[3]
	if port == "" {
		port = map[string]string{"redshift": "5439", "postgresql": "5432"}[sub[1]]
	}
	if n, _ := strconv.Atoi(port); n < 1 || n > 65535 {
		return nil, errorf(KindInvalidArgument, "Invalid ClusterJDBCURL %q: bad port.", raw)
	}
	u := url.URL{Scheme: "postgres", Host: sub[2] + ":" + port, Path: "/" + sub[4],
		User: url.UserPassword(str(conf, "Username"), str(conf, "Password"))}
	q := url.Values{"sslmode": {"prefer"}}
	// Of the JDBC parameters only sslmode means the same to PostgreSQL.
	if params, err := url.ParseQuery(sub[5]); err == nil && params.Get("sslmode") != "" {
		q.Set("sslmode", params.Get("sslmode"))
	}
	u.RawQuery = q.Encode()
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, errorf(KindInvalidArgument, "Invalid ClusterJDBCURL %q: %v", raw, err)
	}
	cfg.ConnectTimeout = redshiftTiming.connect
	return cfg, nil
}

// copyColumns splits DataTableColumns (comma-separated, may be empty).
func copyColumns(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var cols []string
	for _, c := range strings.Split(s, ",") {
		c = strings.TrimSpace(c)
		if !sqlCol.MatchString(c) {
			return nil, errorf(KindInvalidArgument, "Invalid CopyCommand.DataTableColumns %q: %q is not a column name.", s, c)
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// columnKey is the JSON key a column is matched with: an unquoted name
// folds to lower case, as the warehouse folds it.
func columnKey(c string) string {
	if strings.HasPrefix(c, `"`) {
		return strings.Trim(c, `"`)
	}
	return strings.ToLower(c)
}

// copyOptions are CopyOptions parsed.
type copyOptions struct {
	json         bool   // JSON 'auto'
	ignoreCase   bool   // JSON 'auto ignorecase'
	csv          bool   // CSV
	delimiter    string // "" = the format's default
	quote        string // CSV QUOTE, "" = '"'
	null         string // NULL AS, "" = unset
	hasNull      bool
	gzip         bool
	ignoreHeader int
}

// copyTokens splits CopyOptions into words and quoted strings.
var copyTokens = regexp.MustCompile(`'(?:[^'\\]|\\.|'')*'|[^\s']+|'`)

// parseCopyOptions translates the Redshift COPY options of the file
// comment; any other option is an InvalidArgument.
func parseCopyOptions(s string) (copyOptions, error) {
	var o copyOptions
	toks := copyTokens.FindAllString(s, -1)
	bad := func(format string, args ...any) (copyOptions, error) {
		return copyOptions{}, errorf(KindInvalidArgument, "Unsupported CopyOptions %q: "+format, append([]any{s}, args...)...)
	}
	quoted := func(i int) (string, bool) {
		if i >= len(toks) || len(toks[i]) < 2 || toks[i][0] != '\'' || toks[i][len(toks[i])-1] != '\'' {
			return "", false
		}
		v := toks[i][1 : len(toks[i])-1]
		v = strings.ReplaceAll(v, "''", "'")
		v = strings.ReplaceAll(v, `\t`, "\t")
		v = strings.ReplaceAll(v, `\\`, `\`)
		return v, true
	}
	for i := 0; i < len(toks); i++ {
		word := strings.ToUpper(toks[i])
		// "FORMAT [AS] CSV|JSON" and "… AS 'x'" carry optional words.
		if word == "FORMAT" {
			if i+1 < len(toks) && strings.EqualFold(toks[i+1], "AS") {
				i++
			}
			continue
		}
		arg := func() (string, bool) {
			if i+1 < len(toks) && strings.EqualFold(toks[i+1], "AS") {
				i++
			}
			i++
			return quoted(i)
		}
		switch word {
		case "JSON":
			v, ok := arg()
			switch strings.ToLower(v) {
			case "auto":
			case "auto ignorecase":
				o.ignoreCase = true
			default:
				if !ok {
					return bad("JSON takes 'auto' or 'auto ignorecase'.")
				}
				return bad("JSON %q: only 'auto' and 'auto ignorecase' are served (no JSONPaths file).", v)
			}
			o.json = true
		case "CSV":
			o.csv = true
		case "QUOTE":
			v, ok := arg()
			if !ok || len(v) != 1 {
				return bad("QUOTE takes one character.")
			}
			o.quote = v
		case "DELIMITER":
			v, ok := arg()
			if !ok || len(v) != 1 {
				return bad("DELIMITER takes one character.")
			}
			o.delimiter = v
		case "NULL":
			v, ok := arg()
			if !ok {
				return bad("NULL AS takes a string.")
			}
			o.null, o.hasNull = v, true
		case "GZIP":
			o.gzip = true
		case "IGNOREHEADER":
			if i+1 < len(toks) && strings.EqualFold(toks[i+1], "AS") {
				i++
			}
			i++
			n, err := strconv.Atoi(strings.Trim(tokAt(toks, i), "'"))
			if err != nil || n < 0 {
				return bad("IGNOREHEADER takes a number of lines.")
			}
			o.ignoreHeader = n
		case "TIMEFORMAT", "DATEFORMAT":
			v, ok := arg()
			if !ok || (!strings.EqualFold(v, "auto") && v != "YYYY-MM-DD HH:MI:SS" && v != "YYYY-MM-DD") {
				return bad("%s: only 'auto' (and the default format) is served.", word)
			}
		case "REGION", "MAXERROR", "COMPUPDATE", "STATUPDATE":
			i++ // the argument (a region, a count, ON/OFF/PRESET)
			if i < len(toks) && strings.EqualFold(toks[i], "AS") {
				i++
			}
		case "EMPTYASNULL", "BLANKSASNULL", "TRUNCATECOLUMNS", "ACCEPTINVCHARS", "ACCEPTANYDATE", "TRIMBLANKS", "ROUNDEC":
		default:
			return bad("%s is not served by this endpoint.", toks[i])
		}
	}
	if o.json && (o.csv || o.delimiter != "") {
		return bad("JSON cannot be combined with CSV or DELIMITER.")
	}
	if o.json && o.ignoreHeader > 0 {
		return bad("IGNOREHEADER is not allowed with JSON.")
	}
	if o.quote != "" && !o.csv {
		return bad("QUOTE requires CSV.")
	}
	return o, nil
}

func tokAt(toks []string, i int) string {
	if i < len(toks) {
		return toks[i]
	}
	return ""
}

// deliverRedshift stages a batch in the intermediate bucket and loads it
// (see the file comment).
func deliverRedshift(ctx context.Context, s *Service, m *streamMeta, b *batch, data [][]byte) error {
	if str(m.Dest, "S3BackupMode") == "Enabled" {
		raw := make([][]byte, len(b.records))
		for i, r := range b.records {
			raw[i] = r.Data
		}
		bc := mapOf(m.Dest, "S3BackupConfiguration")
		if err := s.retryS3(ctx, m, b.oldest(), func() error { return s.putS3Object(ctx, m, bc, b.oldest(), raw) }); err != nil {
			return err
		}
	}
	s3 := mapOf(m.Dest, "S3Configuration")
	var key string
	var body []byte
	if err := s.retryS3(ctx, m, b.oldest(), func() error {
		var err error
		key, body, err = s.stageObject(ctx, m, s3, b.oldest(), data)
		return err
	}); err != nil {
		return err
	}
	if key == "" {
		return nil // given up after the retention (retryS3 counted it)
	}
	retry := time.Duration(intOf(mapOf(m.Dest, "RetryOptions"), "DurationInSeconds")) * time.Second
	backoff := redshiftTiming.backoff
	var first time.Time
	for attempts := 1; ; attempts++ {
		rows, err := s.redshiftLoad(ctx, m, body)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.observeDelivery(m, "Redshift", err == nil, data, b.oldest())
		if err == nil {
			s.cfg.Logger.Debug("firehose: Redshift load", "stream", m.Name, "object", key, "rows", rows)
			return nil
		}
		s.cfg.Logger.Warn("firehose: Redshift load failed", "stream", m.Name, "object", key, "attempt", attempts, "err", err)
		if first.IsZero() {
			first = s.cfg.Now()
		}
		elapsed := s.cfg.Now().Sub(first)
		if errors.Is(err, errPermanentLoad) || elapsed >= retry {
			break
		}
		// The last wait is cut short so that the last attempt is made when
		// the retry duration ends.
		jitter := min(time.Duration(float64(backoff)*(0.85+0.3*randFloat())), retry-elapsed)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(jitter):
		}
		backoff = min(backoff*2, time.Minute)
	}
	return s.skipRedshiftObjects(ctx, m, b, s3, []string{key})
}

// errPermanentLoad marks a load that cannot succeed on retry (the staged
// object does not decode as the CopyOptions say).
var errPermanentLoad = errors.New("the staged object cannot be loaded as CopyOptions describe it")

// stageObject writes records as one object of the intermediate bucket,
// named as putS3ObjectAt names objects, and returns its key and body.
func (s *Service) stageObject(ctx context.Context, m *streamMeta, conf map[string]any, oldest time.Time, records [][]byte) (string, []byte, error) {
	bucket, err := bucketOf(str(conf, "BucketARN"))
	if err != nil {
		return "", nil, err
	}
	body, ext, ctype, err := compress(str(conf, "CompressionFormat"), records)
	if err != nil {
		return "", nil, err
	}
	if fe := str(conf, "FileExtension"); fe != "" {
		ext = fe
	}
	key := objectPrefix(str(conf, "Prefix"), s.inZone(conf, oldest)) + m.Name + "-" + strconv.Itoa(m.VersionID) + "-" +
		s.inZone(conf, oldest).Format("2006-01-02-15-04-05") + "-" + uuid.NewString() + ext
	if s.cfg.Objects == nil {
		return "", nil, fmt.Errorf("no object store is configured for S3 destinations")
	}
	if err := s.cfg.Objects.PutObject(ctx, m.Account, bucket, key, body, ctype); err != nil {
		return "", nil, err
	}
	return "s3://" + bucket + "/" + key, body, nil
}

// skipRedshiftObjects lists the objects whose load was given up in a COPY
// manifest under errors/manifests/ of the intermediate bucket.
func (s *Service) skipRedshiftObjects(ctx context.Context, m *streamMeta, b *batch, s3 map[string]any, urls []string) error {
	type entry struct {
		URL       string `json:"url"`
		Mandatory bool   `json:"mandatory"`
	}
	var man struct {
		Entries []entry `json:"entries"`
	}
	for _, u := range urls {
		man.Entries = append(man.Entries, entry{URL: u, Mandatory: true})
	}
	body, _ := json.Marshal(man)
	s.cfg.Observer.Failed(m.Name, "redshift-skipped", len(b.records))
	conf := map[string]any{"BucketARN": s3["BucketARN"], "CompressionFormat": "UNCOMPRESSED", "CustomTimeZone": s3["CustomTimeZone"]}
	prefix := objectPrefix(str(s3, "Prefix")+"errors/manifests/", s.inZone(s3, b.oldest()))
	return s.retryS3(ctx, m, b.oldest(), func() error { return s.putS3ObjectAt(ctx, m, conf, prefix, b.oldest(), [][]byte{body}) })
}

// redshiftLoad loads one staged object into the table, returning the rows
// loaded.
func (s *Service) redshiftLoad(ctx context.Context, m *streamMeta, body []byte) (int64, error) {
	cc := mapOf(m.Dest, "CopyCommand")
	opts, err := parseCopyOptions(str(cc, "CopyOptions"))
	if err != nil {
		return 0, err
	}
	cols, _ := copyColumns(str(cc, "DataTableColumns"))
	if opts.gzip {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return 0, fmt.Errorf("%w: GZIP: %v", errPermanentLoad, err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			return 0, fmt.Errorf("%w: GZIP: %v", errPermanentLoad, err)
		}
	}
	cfg, err := redshiftConnConfig(m.Dest)
	if err != nil {
		return 0, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	table := str(cc, "DataTableName")
	var with []string
	if opts.json {
		if len(cols) == 0 {
			// JSON 'auto' without a column list maps to every column.
			rows, err := conn.Query(ctx, `SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, table)
			if err != nil {
				return 0, err
			}
			if cols, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return 0, err
			}
		}
		if body, err = jsonToCSV(body, cols, opts.ignoreCase); err != nil {
			return 0, fmt.Errorf("%w: %v", errPermanentLoad, err)
		}
		with = append(with, "FORMAT csv")
	} else {
		body = skipLines(body, opts.ignoreHeader)
		if opts.csv {
			with = append(with, "FORMAT csv")
			if opts.quote != "" {
				with = append(with, "QUOTE "+sqlString(opts.quote))
			}
		} else {
			with = append(with, "FORMAT text")
			if opts.delimiter == "" {
				opts.delimiter = "|" // Redshift's default delimiter
			}
		}
		if opts.delimiter != "" {
			with = append(with, "DELIMITER "+sqlString(opts.delimiter))
		}
		if opts.hasNull {
			with = append(with, "NULL "+sqlString(opts.null))
		}
	}
	stmt := "COPY " + table
	if len(cols) > 0 {
		stmt += " (" + strings.Join(cols, ", ") + ")"
	}
	stmt += " FROM STDIN WITH (" + strings.Join(with, ", ") + ")"
	tag, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(body), stmt)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// skipLines drops the first n lines of data (IGNOREHEADER).
func skipLines(data []byte, n int) []byte {
	for ; n > 0 && len(data) > 0; n-- {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil
		}
		data = data[i+1:]
	}
	return data
}

// jsonToCSV reads a stream of JSON objects (Redshift's JSON 'auto': any
// whitespace between them) and writes one CSV row per object with the
// columns' values: strings quoted, null and missing keys as the unquoted
// empty field PostgreSQL reads as NULL.
func jsonToCSV(data []byte, cols []string, ignoreCase bool) ([]byte, error) {
	keys := make([]string, len(cols))
	for i, c := range cols {
		keys[i] = columnKey(c)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out bytes.Buffer
	for n := 0; ; n++ {
		var obj map[string]json.RawMessage
		if err := dec.Decode(&obj); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("JSON record %d: %v", n, err)
		}
		if ignoreCase {
			low := make(map[string]json.RawMessage, len(obj))
			for k, v := range obj {
				low[strings.ToLower(k)] = v
			}
			obj = low
		}
		for i, k := range keys {
			if i > 0 {
				out.WriteByte(',')
			}
			if ignoreCase {
				k = strings.ToLower(k)
			}
			v, ok := obj[k]
			if !ok {
				continue
			}
			var val string
			switch {
			case bytes.Equal(v, []byte("null")):
				continue
			case len(v) > 0 && v[0] == '"':
				if err := json.Unmarshal(v, &val); err != nil {
					return nil, fmt.Errorf("JSON record %d: %v", n, err)
				}
			default: // numbers and booleans as written; objects and arrays as JSON text
				val = string(v)
			}
			out.WriteByte('"')
			out.WriteString(strings.ReplaceAll(val, `"`, `""`))
			out.WriteByte('"')
		}
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}
