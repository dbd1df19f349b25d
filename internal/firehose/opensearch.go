package firehose

// OpenSearch, Elasticsearch and OpenSearch Serverless destinations: each
// batch is indexed with one _bulk request (POST <endpoint>/_bulk,
// application/x-ndjson), one index action per record:
//
//	{"index":{"_index":"<IndexName>[-<rotation>]","_type":"<TypeName>","_id":"<id>"}}\n
//	<the record, a JSON object on one line>\n
//
// _type only when TypeName is set (Elasticsearch 6 and older), _id only
// with DocumentIdOptions FIREHOSE_DEFAULT (not for Serverless). The
// rotation suffix comes from the record's arrival time in UTC (AWS's
// es-index-rotation page): OneHour -YYYY-MM-DD-HH, OneDay -YYYY-MM-DD,
// OneWeek -YYYY-wWW (US weeks: Sunday first, week 1 holds January 1st),
// OneMonth -YYYY-MM.
//
// The bulk response is read per item: 2xx is indexed; 429 and 5xx (and a
// whole request that fails: no connection, a non-2xx answer) are retried,
// only the documents still failing, with backoff for RetryOptions; other
// statuses are permanent. What is left then goes to the S3Configuration
// under AmazonOpenSearchService-failed (elasticsearch-failed for the
// Elasticsearch kind), one JSON line per document as AWS writes them:
// {attemptsMade, arrivalTimestamp, errorCode, errorMessage,
// attemptEndingTimestamp, esDocumentId, esIndexName, esTypeName, rawData}.
// With S3BackupMode AllDocuments every batch is also written to S3.
//
// AWS signs requests with the stream's role (SigV4 for es/aoss); Rheos has
// no AWS domains and signs nothing: ClusterEndpoint (CollectionEndpoint for
// Serverless) is any http(s) URL speaking _bulk, and credentials in its
// userinfo (https://user:pass@host) are sent as HTTP basic auth and never
// described.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// OpenSearch-family destination kinds (the model's member name prefixes;
// mind AWS's casing of Amazonopensearchservice).
const (
	DestOpenSearch           = "Amazonopensearchservice"
	DestElasticsearch        = "Elasticsearch"
	DestOpenSearchServerless = "AmazonOpenSearchServerless"
)

// searchBackoff is the first wait between bulk attempts (doubled per
// attempt, capped at searchMaxBackoff). AWS does not document its backoff.
var searchBackoff = time.Second

const searchMaxBackoff = time.Minute

// searchKind is what differs between the three kinds.
type searchKind struct {
	endpointField string // ClusterEndpoint or CollectionEndpoint
	metric        string // DeliveryTo<metric>.* in CloudWatch
	errorType     string // the error output type of failed documents
	codePrefix    string // of Firehose's own error codes (OS., ES.)
	serverless    bool   // no DomainARN, rotation, TypeName or document ids
}

var searchKinds = map[string]searchKind{
	DestOpenSearch:           {endpointField: "ClusterEndpoint", metric: "AmazonOpenSearchService", errorType: "AmazonOpenSearchService-failed", codePrefix: "OS"},
	DestElasticsearch:        {endpointField: "ClusterEndpoint", metric: "Elasticsearch", errorType: "elasticsearch-failed", codePrefix: "ES"},
	DestOpenSearchServerless: {endpointField: "CollectionEndpoint", metric: "AmazonOpenSearchServerless", errorType: "AmazonOpenSearchService-failed", codePrefix: "OS", serverless: true},
}

func init() {
	for kind, sk := range searchKinds {
		destinations[kind] = destination{
			normalize: sk.normalize,
			deliver: func(ctx context.Context, s *Service, m *streamMeta, b *batch, data [][]byte) error {
				return s.deliverSearch(ctx, sk, m, b, data)
			},
			redact:   sk.redact,
			noSwitch: true, // AWS refuses switching to or from OpenSearch
		}
	}
}

// normalize checks a configuration and fills in AWS's defaults.
func (sk searchKind) normalize(out map[string]any) (map[string]any, error) {
	ep := str(out, sk.endpointField)
	if !sk.serverless && ep == "" && str(out, "DomainARN") != "" {
		return nil, errorf(KindInvalidArgument, "This endpoint has no Amazon OpenSearch Service domains: ClusterEndpoint is needed here (the http(s) URL of a cluster serving _bulk), not DomainARN.")
	}
	if !sk.serverless && ep != "" && str(out, "DomainARN") != "" {
		return nil, errorf(KindInvalidArgument, "Specify either ClusterEndpoint or DomainARN, not both.")
	}
	if _, _, _, err := searchEndpoint(ep); err != nil {
		return nil, errorf(KindInvalidArgument, "Invalid %s %q: it must be an http or https URL.", sk.endpointField, ep)
	}
	if n := len(str(out, "IndexName")); n < 1 || n > 80 {
		return nil, errorf(KindInvalidArgument, "IndexName is required (1 to 80 characters).")
	}
	if sk.serverless {
		for _, k := range []string{"DomainARN", "ClusterEndpoint", "TypeName", "IndexRotationPeriod", "DocumentIdOptions"} {
			if _, ok := out[k]; ok {
				return nil, errorf(KindInvalidArgument, "%s is not a parameter of OpenSearch Serverless destinations.", k)
			}
		}
	} else {
		setDefault(out, "IndexRotationPeriod", "OneDay")
		switch p := str(out, "IndexRotationPeriod"); p {
		case "NoRotation", "OneHour", "OneDay", "OneWeek", "OneMonth":
		default:
			return nil, errorf(KindInvalidArgument, "Invalid IndexRotationPeriod %s: one of NoRotation, OneHour, OneDay, OneWeek, OneMonth.", p)
		}
		if len(str(out, "TypeName")) > 100 {
			return nil, errorf(KindInvalidArgument, "TypeName is at most 100 characters.")
		}
		di := mapOf(out, "DocumentIdOptions")
		setDefault(di, "DefaultDocumentIdFormat", "FIREHOSE_DEFAULT")
		switch f := str(di, "DefaultDocumentIdFormat"); f {
		case "FIREHOSE_DEFAULT", "NO_DOCUMENT_ID":
		default:
			return nil, errorf(KindInvalidArgument, "Invalid DefaultDocumentIdFormat %s: FIREHOSE_DEFAULT or NO_DOCUMENT_ID.", f)
		}
		out["DocumentIdOptions"] = di
	}
	bh := mapOf(out, "BufferingHints")
	setDefault(bh, "SizeInMBs", int64(5))
	setDefault(bh, "IntervalInSeconds", int64(300))
	if v := intOf(bh, "SizeInMBs"); v < 1 || v > 100 {
		return nil, errorf(KindInvalidArgument, "BufferingHints.SizeInMBs must be from 1 to 100.")
	}
	if v := intOf(bh, "IntervalInSeconds"); v < 0 || v > 900 {
		return nil, errorf(KindInvalidArgument, "BufferingHints.IntervalInSeconds must be from 0 to 900.")
	}
	out["BufferingHints"] = bh
	ro := mapOf(out, "RetryOptions")
	setDefault(ro, "DurationInSeconds", int64(300))
	if v := intOf(ro, "DurationInSeconds"); v < 0 || v > 7200 {
		return nil, errorf(KindInvalidArgument, "RetryOptions.DurationInSeconds must be from 0 to 7200.")
	}
	out["RetryOptions"] = ro
	setDefault(out, "S3BackupMode", "FailedDocumentsOnly")
	switch m := str(out, "S3BackupMode"); m {
	case "FailedDocumentsOnly", "AllDocuments":
	default:
		return nil, errorf(KindInvalidArgument, "Invalid S3BackupMode %s: FailedDocumentsOnly or AllDocuments.", m)
	}
	return out, nil
}

// redact drops the password of an endpoint's userinfo and names the VPC
// configuration as descriptions do.
func (sk searchKind) redact(desc map[string]any) {
	if u, err := url.Parse(str(desc, sk.endpointField)); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		desc[sk.endpointField] = u.String()
	}
	if v, ok := desc["VpcConfiguration"]; ok {
		delete(desc, "VpcConfiguration")
		desc["VpcConfigurationDescription"] = v
	}
}

// searchEndpoint splits an endpoint into its _bulk URL and any basic-auth
// credentials of its userinfo.
func searchEndpoint(ep string) (bulkURL, user, pass string, err error) {
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", "", fmt.Errorf("not an http(s) URL: %q", ep)
	}
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		u.User = nil
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/_bulk"
	u.RawPath = ""
	return u.String(), user, pass, nil
}

// rotatedIndex is the index a record arriving at t goes to.
func rotatedIndex(name, period string, t time.Time) string {
	t = t.UTC()
	switch period {
	case "OneHour":
		return name + t.Format("-2006-01-02-15")
	case "OneDay":
		return name + t.Format("-2006-01-02")
	case "OneWeek":
		y, w := usWeek(t)
		return fmt.Sprintf("%s-%04d-w%02d", name, y, w)
	case "OneMonth":
		return name + t.Format("-2006-01")
	}
	return name
}

// usWeek numbers weeks by the US convention AWS states for OneWeek: weeks
// start on Sunday and week 1 is the first week holding a Saturday of the
// year (so the one holding January 1st). The year is the week's: the
// year of its Saturday (Sunday 2019-12-29 is in 2020-w01), as Java's
// YYYY-'w'ww in the US locale.
func usWeek(t time.Time) (year, week int) {
	sat := t.AddDate(0, 0, int(time.Saturday-t.Weekday()))
	return sat.Year(), (sat.YearDay()-1)/7 + 1
}

// searchDoc is one record on its way to the cluster.
type searchDoc struct {
	raw      []byte // the record as processed, for rawData and AllDocuments
	body     []byte // the record as one line of JSON (nil: malformed)
	index    string
	id       string // "" with NO_DOCUMENT_ID
	arrival  int64  // ms
	attempts int
	done     bool // indexed
	final    bool // failed for good
	code     string
	msg      string
	gotID    string // the id the cluster gave, with NO_DOCUMENT_ID
}

// searchDocs prepares a batch's documents. Ids with FIREHOSE_DEFAULT are
// the stream's buffer position (log key and sequence): unique per record
// and the same on every attempt and after a restart. When processors
// changed the number of records, the position of the batch's first record
// and the record's index in the batch stand in (stable while the
// processing is).
func searchDocs(sk searchKind, m *streamMeta, b *batch, data [][]byte) []*searchDoc {
	name := str(m.Dest, "IndexName")
	period := str(m.Dest, "IndexRotationPeriod")
	ids := !sk.serverless && str(mapOf(m.Dest, "DocumentIdOptions"), "DefaultDocumentIdFormat") != "NO_DOCUMENT_ID"
	oneToOne := len(data) == len(b.records)
	docs := make([]*searchDoc, len(data))
	for i, d := range data {
		doc := &searchDoc{raw: d, arrival: b.records[0].Timestamp}
		if oneToOne {
			doc.arrival = b.records[i].Timestamp
		}
		doc.index = rotatedIndex(name, period, time.UnixMilli(doc.arrival))
		if ids {
			if oneToOne {
				doc.id = strconv.FormatUint(m.LogKey, 10) + "-" + strconv.FormatUint(b.records[i].Seq, 10)
			} else {
				doc.id = strconv.FormatUint(m.LogKey, 10) + "-" + strconv.FormatUint(b.records[0].Seq, 10) + "-" + strconv.Itoa(i)
			}
		}
		trimmed := bytes.TrimSpace(d)
		var line bytes.Buffer
		if len(trimmed) == 0 || trimmed[0] != '{' || json.Compact(&line, trimmed) != nil {
			doc.final, doc.code = true, sk.codePrefix+".MalformedDocument"
			doc.msg = "The record is not a JSON object: records must be UTF-8 JSON objects, one per record."
		} else {
			doc.body = line.Bytes()
		}
		docs[i] = doc
	}
	return docs
}

// deliverSearch indexes a batch, retrying what fails with a retryable
// status for the destination's retry duration, then backs up what is
// left (and, with AllDocuments, the whole batch).
func (s *Service) deliverSearch(ctx context.Context, sk searchKind, m *streamMeta, b *batch, data [][]byte) error {
	docs := searchDocs(sk, m, b, data)
	typ := ""
	if !sk.serverless {
		typ = str(m.Dest, "TypeName")
	}
	retry := time.Duration(intOf(mapOf(m.Dest, "RetryOptions"), "DurationInSeconds")) * time.Second
	start := s.cfg.Now()
	backoff := searchBackoff
	for {
		var pending []*searchDoc
		for _, d := range docs {
			if !d.done && !d.final {
				pending = append(pending, d)
			}
		}
		if len(pending) == 0 {
			break
		}
		s.bulk(ctx, sk, m, typ, pending)
		var ok, failed [][]byte
		for _, d := range pending {
			if d.done {
				ok = append(ok, d.body)
			} else {
				failed = append(failed, d.body)
			}
		}
		if len(ok) > 0 {
			s.observeDelivery(m, sk.metric, true, ok, b.oldest())
		}
		if len(failed) > 0 {
			s.observeDelivery(m, sk.metric, false, failed, b.oldest())
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		retryable := false
		for _, d := range pending {
			retryable = retryable || !d.done && !d.final
		}
		if !retryable || s.cfg.Now().Add(backoff).Sub(start) > retry {
			break
		}
		s.cfg.Logger.Warn("firehose: OpenSearch delivery failed; retrying", "stream", m.Name, "documents", len(failed), "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, searchMaxBackoff)
	}
	if str(m.Dest, "S3BackupMode") == "AllDocuments" {
		s3 := mapOf(m.Dest, "S3Configuration")
		if err := s.retryS3(ctx, m, b.oldest(), func() error { return s.putS3Object(ctx, m, s3, b.oldest(), data) }); err != nil {
			return err
		}
	}
	var lines [][]byte
	now := s.cfg.Now().UnixMilli()
	for _, d := range docs {
		if d.done {
			continue
		}
		lines = append(lines, failedDocumentLine(d, typ, now))
	}
	if len(lines) == 0 {
		return nil
	}
	return s.backupFailed(ctx, m, b, sk.errorType, lines)
}

// failedDocumentLine renders a document given up on as AWS's failed
// document record (one JSON line).
func failedDocumentLine(d *searchDoc, typ string, now int64) []byte {
	nullable := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	id := d.id
	if id == "" {
		id = d.gotID
	}
	line, _ := json.Marshal(struct {
		AttemptsMade           int    `json:"attemptsMade"`
		ArrivalTimestamp       int64  `json:"arrivalTimestamp"`
		ErrorCode              string `json:"errorCode"`
		ErrorMessage           string `json:"errorMessage"`
		AttemptEndingTimestamp int64  `json:"attemptEndingTimestamp"`
		EsDocumentID           any    `json:"esDocumentId"`
		EsIndexName            string `json:"esIndexName"`
		EsTypeName             any    `json:"esTypeName"`
		RawData                string `json:"rawData"`
	}{d.attempts, d.arrival, d.code, d.msg, now, nullable(id), d.index, nullable(typ), base64.StdEncoding.EncodeToString(d.raw)})
	return append(line, '\n')
}

// bulkItem is one item of a _bulk response.
type bulkItem struct {
	ID     string          `json:"_id"`
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}

// bulk sends one _bulk request for docs and records each one's outcome.
func (s *Service) bulk(ctx context.Context, sk searchKind, m *streamMeta, typ string, docs []*searchDoc) {
	whole := func(code, msg string, final bool) {
		for _, d := range docs {
			d.code, d.msg, d.final = code, msg, final
		}
	}
	for _, d := range docs {
		d.attempts++
	}
	bulkURL, user, pass, err := searchEndpoint(str(m.Dest, sk.endpointField))
	if err != nil {
		whole(sk.codePrefix+".InvalidArgument", err.Error(), true)
		return
	}
	var body bytes.Buffer
	for _, d := range docs {
		action := map[string]string{"_index": d.index}
		if typ != "" {
			action["_type"] = typ
		}
		if d.id != "" {
			action["_id"] = d.id
		}
		a, _ := json.Marshal(map[string]any{"index": action})
		body.Write(a)
		body.WriteByte('\n')
		body.Write(d.body)
		body.WriteByte('\n')
	}
	req, err := http.NewRequestWithContext(ctx, "POST", bulkURL, &body)
	if err != nil {
		whole(sk.codePrefix+".InvalidArgument", err.Error(), true)
		return
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		whole(sk.codePrefix+".ConnectionFailed", "Failed to connect to the cluster: "+err.Error(), false)
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := fmt.Sprintf("The cluster answered %d: %s", resp.StatusCode, strings.TrimSpace(string(raw[:min(len(raw), 512)])))
		// A request too large for the cluster never fits: not retried.
		whole(sk.codePrefix+".ServiceException", msg, resp.StatusCode == http.StatusRequestEntityTooLarge)
		return
	}
	var ans struct {
		Errors bool                  `json:"errors"`
		Items  []map[string]bulkItem `json:"items"`
	}
	if json.Unmarshal(raw, &ans) != nil || len(ans.Items) != len(docs) {
		whole(sk.codePrefix+".ServiceException", "The _bulk response is not one item per document.", false)
		return
	}
	for i, d := range docs {
		var it bulkItem
		for _, v := range ans.Items[i] {
			it = v
		}
		if it.ID != "" {
			d.gotID = it.ID
		}
		switch {
		case it.Status >= 200 && it.Status <= 299:
			d.done = true
		default:
			d.code = strconv.Itoa(it.Status)
			d.msg = string(it.Error)
			d.final = it.Status != http.StatusTooManyRequests && it.Status < 500
		}
	}
}
