package firehose

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fastRedshift shortens the load backoff and connection timeout for a test.
func fastRedshift(t *testing.T) {
	old := redshiftTiming
	redshiftTiming.backoff = 100 * time.Millisecond
	redshiftTiming.connect = 2 * time.Second
	t.Cleanup(func() { redshiftTiming = old })
}

func redshiftConf(pg *pgCluster, table, columns, options string, extra map[string]any) map[string]any {
	c := map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "ClusterJDBCURL": pg.jdbcURL(),
		"Username": pg.user, "Password": pg.password,
		"CopyCommand": map[string]any{"DataTableName": table, "DataTableColumns": columns, "CopyOptions": options},
		"S3Configuration": map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::stage",
			"Prefix":         "firehose/",
			"BufferingHints": map[string]any{"SizeInMBs": int64(1), "IntervalInSeconds": int64(0)}}}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// runRedshift runs a service and creates one Redshift stream per name.
func runRedshift(t *testing.T, confs map[string]map[string]any) (*Service, *memObjects) {
	t.Helper()
	svc, objs := newTestService(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for name, conf := range confs {
		if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: name, Destinations: map[string]map[string]any{DestRedshift: conf}}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	return svc, objs
}

func putStrings(t *testing.T, svc *Service, name string, records ...string) {
	t.Helper()
	var data [][]byte
	for _, r := range records {
		data = append(data, []byte(r))
	}
	if _, _, err := svc.Put(context.Background(), Scope{}, name, data); err != nil {
		t.Fatal(err)
	}
}

func waitDelivered(t *testing.T, svc *Service, name string, next uint64) {
	t.Helper()
	waitFor(t, name+"'s checkpoint", func() bool {
		ck, _, _ := svc.loadCheckpoint(context.Background(), Scope{Account: "111122223333", Region: "us-east-1"}, name)
		return ck.Next == next
	})
}

// queryRows returns a query's rows, each value rendered with %v (NULL as
// "NULL"), one string per row joined by "|".
func queryRows(t *testing.T, pg *pgCluster, sql string) []string {
	t.Helper()
	rows, err := pg.connect().Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			switch x := v.(type) {
			case nil:
				parts = append(parts, "NULL")
			case time.Time:
				parts = append(parts, x.UTC().Format(time.RFC3339))
			default:
				parts = append(parts, fmt.Sprint(x))
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// stagedObjects returns the intermediate bucket's data objects (not the
// error manifests), by key.
func stagedObjects(objs *memObjects, stream string) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range objs.snapshot() {
		if strings.HasPrefix(k, "stage/firehose/") && !strings.Contains(k, "errors/") && strings.Contains(k, "/"+stream+"-") {
			out[k] = v
		}
	}
	return out
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRedshiftLoads: batches are staged in the intermediate bucket with
// AWS's object names and loaded into a real PostgreSQL with the CopyOptions
// translated: JSON 'auto' from gzip objects (keys matched to the listed
// columns, missing keys NULL, nested values as JSON text), CSV with a
// header and quoted fields, and Redshift's default pipe-delimited text; the
// rows read back equal the input.
func TestRedshiftLoads(t *testing.T) {
	fastRedshift(t)
	pg := startPostgres(t)
	pg.exec(`CREATE TABLE events (id int PRIMARY KEY, name text, ts timestamptz, score double precision, ok boolean, attrs text, note text);
		CREATE SCHEMA sales; CREATE TABLE sales.orders (id int, item text, qty int);
		CREATE TABLE pipes (a text, b int)`)
	jsonConf := redshiftConf(pg, "events", "id,name,ts,score,ok,attrs,note", "JSON 'auto' GZIP TIMEFORMAT 'auto'", nil)
	jsonConf["S3Configuration"].(map[string]any)["CompressionFormat"] = "GZIP"
	svc, objs := runRedshift(t, map[string]map[string]any{
		"json":  jsonConf,
		"csv":   redshiftConf(pg, "sales.orders", "id, item, qty", "FORMAT AS CSV IGNOREHEADER AS 1", nil),
		"pipes": redshiftConf(pg, "pipes", "", "", nil),
	})
	jsonRecs := []string{
		`{"id":1,"name":"alpha","ts":"2024-05-01T10:00:00Z","score":1.5,"ok":true,"attrs":{"k":[1,2]},"extra":"ignored"}` + "\n",
		`{"id":2,"name":"say \"hi\", bye","ts":"2024-05-01 11:30:00+00","score":-2,"ok":false,"attrs":null}` + "\n",
		`{"name":"no id yet","id":3}`,
	}
	putStrings(t, svc, "json", jsonRecs...)
	putStrings(t, svc, "csv", "id,item,qty\n", "1,\"widget, large\",3\n", "2,gadget,\n")
	putStrings(t, svc, "pipes", "x|1\n", "y|2\n")
	waitDelivered(t, svc, "json", 3)
	waitDelivered(t, svc, "csv", 3)
	waitDelivered(t, svc, "pipes", 2)

	got := queryRows(t, pg, `SELECT id, name, ts, score, ok, attrs, note FROM events ORDER BY id`)
	want := []string{
		`1|alpha|2024-05-01T10:00:00Z|1.5|true|{"k":[1,2]}|NULL`,
		`2|say "hi", bye|2024-05-01T11:30:00Z|-2|false|NULL|NULL`,
		`3|no id yet|NULL|NULL|NULL|NULL|NULL`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := queryRows(t, pg, `SELECT id, item, qty FROM sales.orders ORDER BY id`); strings.Join(got, ";") != "1|widget, large|3;2|gadget|NULL" {
		t.Errorf("sales.orders: %q", got)
	}
	if got := queryRows(t, pg, `SELECT a, b FROM pipes ORDER BY a`); strings.Join(got, ";") != "x|1;y|2" {
		t.Errorf("pipes: %q", got)
	}

	// The staged objects: AWS's names under the intermediate prefix, the
	// bytes that were loaded (gzip for the GZIP stream).
	staged := stagedObjects(objs, "json")
	if len(staged) != 1 {
		t.Fatalf("json staged objects: %v", keysOf(staged))
	}
	for k, v := range staged {
		if !strings.HasSuffix(k, ".gz") || !strings.Contains(k, "stage/firehose/"+time.Now().UTC().Format("2006/01/02/")) {
			t.Errorf("staged key %s: want stage/firehose/YYYY/MM/dd/HH/json-1-…gz", k)
		}
		if string(gunzip(t, v)) != strings.Join(jsonRecs, "") {
			t.Errorf("staged body %q", gunzip(t, v))
		}
	}
	if s := stagedObjects(objs, "csv"); len(s) != 1 {
		t.Errorf("csv staged objects: %v", keysOf(s))
	}
	for k := range objs.snapshot() {
		if strings.Contains(k, "errors/") {
			t.Errorf("an error manifest with no failure: %s", k)
		}
	}
}

// TestRedshiftDownSkipsToManifest: with the warehouse stopped and
// RetryOptions 1 s, the load is retried, then the staged object is listed
// in a COPY manifest under errors/manifests/ of the intermediate bucket;
// the object itself holds every record (nothing lost) and the stream moves
// on. A later batch loads once PostgreSQL is back.
func TestRedshiftDownSkipsToManifest(t *testing.T) {
	fastRedshift(t)
	pg := startPostgres(t)
	pg.exec(`CREATE TABLE t (id int, v text)`)
	svc, objs := runRedshift(t, map[string]map[string]any{
		"down": redshiftConf(pg, "t", "id,v", "CSV", map[string]any{"RetryOptions": map[string]any{"DurationInSeconds": int64(1)}}),
	})
	pg.stop()
	start := time.Now()
	putStrings(t, svc, "down", "1,one\n", "2,two\n")
	waitDelivered(t, svc, "down", 2)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("gave up after %v, before the 1 s retry duration", d)
	}
	var manifests []string
	snap := objs.snapshot()
	for k := range snap {
		if strings.HasPrefix(k, "stage/firehose/errors/manifests/") {
			manifests = append(manifests, k)
		}
	}
	if len(manifests) != 1 {
		t.Fatalf("manifests %v in %v", manifests, keysOf(snap))
	}
	if !strings.HasPrefix(manifests[0], "stage/firehose/errors/manifests/"+time.Now().UTC().Format("2006/01/02/")) {
		t.Errorf("manifest key %s", manifests[0])
	}
	var man struct {
		Entries []struct {
			URL       string `json:"url"`
			Mandatory bool   `json:"mandatory"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(snap[manifests[0]], &man); err != nil {
		t.Fatalf("manifest %s: %v", snap[manifests[0]], err)
	}
	if len(man.Entries) != 1 || !man.Entries[0].Mandatory {
		t.Fatalf("manifest %s", snap[manifests[0]])
	}
	key := strings.TrimPrefix(man.Entries[0].URL, "s3://")
	if body, ok := snap[key]; !ok || string(body) != "1,one\n2,two\n" {
		t.Errorf("the skipped object %s: %q (exists %v)", man.Entries[0].URL, body, ok)
	}

	pg.start()
	putStrings(t, svc, "down", "3,three\n")
	waitDelivered(t, svc, "down", 3)
	if got := queryRows(t, pg, `SELECT id, v FROM t ORDER BY id`); strings.Join(got, ";") != "3|three" {
		t.Errorf("after the restart: %q", got)
	}
}

// TestRedshiftDescribeAndValidation: the password is never described, the
// defaults are AWS's, and options this endpoint cannot translate are
// refused at create with InvalidArgument.
func TestRedshiftDescribeAndValidation(t *testing.T) {
	svc, _ := newTestService(t, nil)
	ctx := context.Background()
	pg := &pgCluster{port: 5439, user: "awsuser", password: "Secret-Pass1"}
	conf := redshiftConf(pg, "events", "", "json 'auto'", map[string]any{"ClusterJDBCURL": "jdbc:redshift://wh.example.us-east-1.redshift.amazonaws.com:5439/dev"})
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "rs", Destinations: map[string]map[string]any{DestRedshift: conf}}); err != nil {
		t.Fatal(err)
	}
	d, err := svc.Describe(ctx, Scope{}, "rs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(d)
	if bytes.Contains(b, []byte("Secret-Pass1")) || bytes.Contains(b, []byte(`"Password"`)) {
		t.Errorf("the password is described: %s", b)
	}
	rd, _ := d["Destinations"].([]any)[0].(map[string]any)["RedshiftDestinationDescription"].(map[string]any)
	if rd == nil {
		t.Fatalf("no RedshiftDestinationDescription: %s", b)
	}
	if rd["Username"] != "awsuser" || rd["S3BackupMode"] != "Disabled" || intOf(mapOf(rd, "RetryOptions"), "DurationInSeconds") != 3600 {
		t.Errorf("description %v", rd)
	}
	if _, ok := rd["S3DestinationDescription"].(map[string]any); !ok {
		t.Errorf("no S3DestinationDescription: %v", rd)
	}
	if _, ok := rd["BufferingHints"]; ok {
		t.Errorf("BufferingHints described at the top level: %v", rd)
	}

	for i, c := range []struct {
		set map[string]any
		ok  bool
	}{
		{nil, true},
		{map[string]any{"ClusterJDBCURL": "jdbc:postgresql://db.internal/warehouse"}, true},
		{map[string]any{"ClusterJDBCURL": "jdbc:mysql://db:3306/w"}, false},
		{map[string]any{"ClusterJDBCURL": "postgres://db:5432/w"}, false},
		{map[string]any{"Password": ""}, false},
		{map[string]any{"CopyCommand": map[string]any{"DataTableName": "t; DROP TABLE x"}}, false},
		{map[string]any{"CopyCommand": map[string]any{"DataTableName": "s.t", "DataTableColumns": "a, \"B c\""}}, true},
		{map[string]any{"CopyCommand": map[string]any{"DataTableName": "t", "DataTableColumns": "a,b)"}}, false},
		{map[string]any{"CopyCommand": map[string]any{"DataTableName": "t", "CopyOptions": "DELIMITER '\\t' GZIP IGNOREHEADER 2 NULL AS 'nil' EMPTYASNULL"}}, true},
		{map[string]any{"CopyOptions": nil, "CopyCommand": map[string]any{"DataTableName": "t", "CopyOptions": "CSV QUOTE AS '%' TIMEFORMAT AS 'auto' DATEFORMAT 'auto'"}}, true},
		{map[string]any{"CopyCommand": map[string]any{"DataTableName": "t", "CopyOptions": "JSON 's3://b/jsonpaths.json'"}}, false},
		{map[string]any{"CopyCommand": map[string]any{"DataTableName": "t", "CopyOptions": "AVRO 'auto'"}}, false},
		{map[string]any{"CopyCommand": map[string]any{"DataTableName": "t", "CopyOptions": "TIMEFORMAT 'epochsecs'"}}, false},
		{map[string]any{"CopyCommand": map[string]any{"DataTableName": "t", "CopyOptions": "JSON 'auto' CSV"}}, false},
		{map[string]any{"CopyCommand": map[string]any{"DataTableName": "t", "CopyOptions": "DELIMITER 'ab'"}}, false},
		{map[string]any{"RetryOptions": map[string]any{"DurationInSeconds": int64(0)}}, true},
		{map[string]any{"RetryOptions": map[string]any{"DurationInSeconds": int64(7201)}}, false},
		{map[string]any{"S3BackupMode": "Enabled"}, false}, // no S3BackupConfiguration
		{map[string]any{"S3BackupMode": "Enabled", "S3BackupConfiguration": map[string]any{"BucketARN": "arn:aws:s3:::raw"}}, true},
		{map[string]any{"S3BackupMode": "FailedOnly"}, false},
		{map[string]any{"S3Configuration": map[string]any{"BucketARN": "arn:aws:s3:::stage", "CompressionFormat": "Snappy"}}, false},
		{map[string]any{"S3Configuration": map[string]any{"BucketARN": "arn:aws:s3:::stage", "Prefix": "p/!{timestamp:yyyy}/"}}, false},
	} {
		conf := redshiftConf(pg, "events", "", "", map[string]any{"ClusterJDBCURL": "jdbc:redshift://wh.example.us-east-1.redshift.amazonaws.com:5439/dev"})
		for k, v := range c.set {
			if v == nil {
				delete(conf, k)
			} else {
				conf[k] = v
			}
		}
		_, err := svc.Create(ctx, Scope{}, CreateInput{Name: "v" + strconv.Itoa(i), Destinations: map[string]map[string]any{DestRedshift: conf}})
		if (err == nil) != c.ok {
			t.Errorf("case %d %v: %v, want ok=%v", i, c.set, err, c.ok)
		}
		if err != nil && !IsKind(err, KindInvalidArgument) {
			t.Errorf("case %d: %v is not InvalidArgument", i, err)
		}
	}
}

// TestRedshiftJSONToCSV: the JSON 'auto' translation on its own.
func TestRedshiftJSONToCSV(t *testing.T) {
	out, err := jsonToCSV([]byte(`{"A":"x","b":1} {"a":"q\"uote","c":[1]}`), []string{"a", "b", `"c"`}, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := "\"x\",\"1\",\n\"q\"\"uote\",,\"[1]\"\n"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if _, err := jsonToCSV([]byte(`{"a":1} not json`), []string{"a"}, false); err == nil {
		t.Error("a record that is not JSON was accepted")
	}
}
