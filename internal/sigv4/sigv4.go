// Package sigv4 owns AWS Signature Version 4 verification: it recomputes a
// request's signature from its canonical form (Authorization header or
// presigned query string), checks the signing-time skew window and presigned
// expiry, and reports AWS's exact errors. It knows credentials only through
// the Credentials lookup its caller supplies, and nothing of any service.
// It imports only the standard library.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// MaxSkew is how far the signing time may be from the server's clock.
const MaxSkew = 5 * time.Minute

// Secret is what the verifier needs to know about an access key.
type Secret struct {
	SecretAccessKey string
	SessionToken    string // required in X-Amz-Security-Token when set
}

// Lookup returns the secret of an access key id, or ok=false if unknown.
type Lookup func(accessKeyID string) (Secret, bool)

// Kind classifies a verification failure (the caller maps it to AWS's
// exception names: IncompleteSignature, InvalidSignature,
// UnrecognizedClient, MissingAuthenticationToken).
type Kind int

// Failure kinds.
const (
	Missing Kind = iota + 1
	Incomplete
	Invalid
	Unrecognized
)

// Error is a verification failure with AWS's message.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Result is a verified request's identity.
type Result struct {
	AccessKeyID string
	Region      string
	Service     string
	SigningTime time.Time
}

var errMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// MaxExpires is the longest validity of a presigned request (AWS's 7 days).
const MaxExpires = 604800

// Options are what a service allows beyond a fully signed request.
type Options struct {
	// UnsignedPayload accepts a payload hash of UNSIGNED-PAYLOAD or
	// STREAMING-* instead of the body's SHA-256: S3, and streaming request
	// bodies (body nil), which are not buffered to be hashed. With a
	// streaming body it also takes a claimed SHA-256 (X-Amz-Content-Sha256)
	// as the payload hash: the caller must then check the body against it
	// as it reads, and refuse it on a mismatch. Otherwise the body is always
	// hashed into the signature, presigned or not, so that a signature
	// covers exactly one body.
	UnsignedPayload bool
}

// Verify checks r's signature. body is the request body (already read);
// now is the server clock.
//
// Beyond the signature itself it refuses what would turn a signature into a
// bearer credential (issue 20): a body not covered by it (see Options), an
// X-Amz-Target header not among the signed headers (it picks the
// operation), a session token that is not signed, or a token sent with a
// long-term key.
func Verify(r *http.Request, body []byte, lookup Lookup, now time.Time, opts Options) (Result, error) {
	auth := r.Header.Get("Authorization")
	q := r.URL.Query()
	if auth == "" && q.Get("X-Amz-Algorithm") == "" {
		return Result{}, &Error{Missing, "Missing Authentication Token"}
	}
	var cred, signedHeaders, signature, amzDate string
	presigned := auth == ""
	var expires time.Duration
	if !presigned {
		if !strings.HasPrefix(auth, Algorithm+" ") {
			return Result{}, &Error{Incomplete, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=" + auth}
		}
		for _, part := range strings.Split(strings.TrimPrefix(auth, Algorithm+" "), ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				cred = v
			case "SignedHeaders":
				signedHeaders = v
			case "Signature":
				signature = v
			}
		}
		amzDate = r.Header.Get("X-Amz-Date")
	} else {
		if q.Get("X-Amz-Algorithm") != Algorithm {
			return Result{}, &Error{Incomplete, "Unsupported AWS 'algorithm': '" + q.Get("X-Amz-Algorithm") + "'"}
		}
		cred, signedHeaders, signature, amzDate = q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")
		secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		if err != nil || secs < 1 || secs > MaxExpires {
			return Result{}, &Error{Incomplete, "X-Amz-Expires must be a number of seconds between 1 and 604800."}
		}
		expires = time.Duration(secs) * time.Second
	}
	if cred == "" || signedHeaders == "" || signature == "" {
		return Result{}, &Error{Incomplete, "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters."}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return Result{}, &Error{Incomplete, "Credential should be scoped to a valid region, not ''. Credential should be scoped to correct service. Credential should be scoped with a valid terminator: 'aws4_request', not '" + cred + "'."}
	}
	akid, date, region, service := parts[0], parts[1], parts[2], parts[3]
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		if d := r.Header.Get("Date"); !presigned && d != "" {
			t, err = http.ParseTime(d)
		}
		if err != nil {
			return Result{}, &Error{Incomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
		}
		amzDate = t.UTC().Format("20060102T150405Z")
	}
	if t.UTC().Format("20060102") != date {
		return Result{}, &Error{Invalid, "Credential should be scoped to a valid date: '" + t.UTC().Format("20060102") + "', not '" + date + "'."}
	}
	secret, ok := lookup(akid)
	if !ok {
		return Result{}, &Error{Unrecognized, "The security token included in the request is invalid."}
	}
	if presigned {
		if now.After(t.Add(expires)) {
			return Result{}, &Error{Invalid, "Signature expired: " + amzDate + " is now earlier than " + now.UTC().Add(-expires).Format("20060102T150405Z") + " (" + now.UTC().Format("20060102T150405Z") + " - " + expires.String() + ")."}
		}
		if t.After(now.Add(MaxSkew)) {
			return Result{}, &Error{Invalid, "Signature not yet current: " + amzDate + " is still later than " + now.UTC().Add(MaxSkew).Format("20060102T150405Z") + " (" + now.UTC().Format("20060102T150405Z") + " + 5 min.)"}
		}
	} else {
		if t.Before(now.Add(-MaxSkew)) {
			return Result{}, &Error{Invalid, "Signature expired: " + amzDate + " is now earlier than " + now.UTC().Add(-MaxSkew).Format("20060102T150405Z") + " (" + now.UTC().Format("20060102T150405Z") + " - 5 min.)"}
		}
		if t.After(now.Add(MaxSkew)) {
			return Result{}, &Error{Invalid, "Signature not yet current: " + amzDate + " is still later than " + now.UTC().Add(MaxSkew).Format("20060102T150405Z") + " (" + now.UTC().Format("20060102T150405Z") + " + 5 min.)"}
		}
	}
	tok, hasTok := r.Header.Get("X-Amz-Security-Token"), r.Header.Get("X-Amz-Security-Token") != ""
	if presigned {
		tok, hasTok = q.Get("X-Amz-Security-Token"), q.Has("X-Amz-Security-Token")
	}
	switch {
	case secret.SessionToken == "" && hasTok:
		// A long-term key has no session: a token with it is forged.
		return Result{}, &Error{Unrecognized, "The security token included in the request is invalid."}
	case secret.SessionToken != "" && !hmac.Equal([]byte(tok), []byte(secret.SessionToken)):
		return Result{}, &Error{Unrecognized, "The security token included in the request is invalid."}
	case secret.SessionToken != "" && !presigned && !signs(signedHeaders, "x-amz-security-token"):
		// A presigned token is in the signed query; a header one must be
		// among the signed headers.
		return Result{}, &Error{Invalid, "'X-Amz-Security-Token' must be a signed header."}
	}
	if r.Header.Get("X-Amz-Target") != "" && !signs(signedHeaders, "x-amz-target") {
		return Result{}, &Error{Invalid, "'X-Amz-Target' must be a signed header."}
	}
	creq, hashes, err := canonicalRequest(r, body, signedHeaders, presigned, opts.UnsignedPayload)
	if err != nil {
		return Result{}, err
	}
	scope := date + "/" + region + "/" + service + "/aws4_request"
	key := signingKey(secret.SecretAccessKey, date, region, service)
	for _, hash := range hashes {
		sum := sha256.Sum256([]byte(creq + hash))
		sts := Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
		want := hex.EncodeToString(hmacSHA256(key, []byte(sts)))
		if hmac.Equal([]byte(want), []byte(strings.ToLower(signature))) {
			return Result{AccessKeyID: akid, Region: region, Service: service, SigningTime: t}, nil
		}
	}
	return Result{}, &Error{Invalid, errMismatch}
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

// signs reports whether the SignedHeaders list names header (lower case).
func signs(signedHeaders, header string) bool {
	for _, n := range strings.Split(signedHeaders, ";") {
		if strings.EqualFold(strings.TrimSpace(n), header) {
			return true
		}
	}
	return false
}

// canonicalRequest builds the SigV4 canonical request from the headers the
// client signed, all but its last line: the payload hash, of which it
// returns the candidates (the signature must match one). With unsigned, the
// payload hash is the client's X-Amz-Content-Sha256, which may be
// UNSIGNED-PAYLOAD or STREAMING-*; otherwise it is always the body's
// SHA-256, and a header claiming anything else is refused.
//
// A presigned request carries no X-Amz-Content-Sha256, and signers differ
// on what they hashed: the AWS SDKs' presigners sign UNSIGNED-PAYLOAD, the
// Kinesis Video WebRTC JS library (and the C SDK) the SHA-256 of the empty
// payload of its GET. Both verify when they state the truth: the empty
// hash when the body is empty (a GET, or a streamed body announced as
// Content-Length 0), UNSIGNED-PAYLOAD when the body need not be signed or
// is empty (nothing then goes unsigned).
func canonicalRequest(r *http.Request, body []byte, signedHeaders string, presigned, unsigned bool) (string, []string, error) {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	b.WriteByte('\n')
	// Query: every parameter but the signature, sorted, URI-encoded.
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	first := true
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			if !first {
				b.WriteByte('&')
			}
			first = false
			b.WriteString(uriEncode(k))
			b.WriteByte('=')
			b.WriteString(uriEncode(v))
		}
	}
	b.WriteByte('\n')
	names := strings.Split(signedHeaders, ";")
	hasHost := false
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		var vals []string
		switch n {
		case "host":
			hasHost = true
			vals = []string{r.Host}
		case "content-length":
			vals = r.Header.Values("Content-Length")
			switch {
			case len(vals) > 0:
			case body == nil && r.ContentLength >= 0: // a streamed body
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			default:
				vals = []string{strconv.Itoa(len(body))}
			}
		default:
			vals = r.Header.Values(n)
		}
		for i, v := range vals {
			vals[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.Join(vals, ","))
		b.WriteByte('\n')
	}
	if !hasHost {
		return "", nil, &Error{Invalid, "'Host' must be a signed header."}
	}
	b.WriteByte('\n')
	b.WriteString(strings.ToLower(signedHeaders))
	b.WriteByte('\n')
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	if presigned && claimed == "" {
		var hashes []string
		empty := body != nil && len(body) == 0 || body == nil && r.ContentLength == 0
		if unsigned || empty {
			hashes = append(hashes, "UNSIGNED-PAYLOAD")
		}
		if body != nil || empty {
			sum := sha256.Sum256(body)
			hashes = append(hashes, hex.EncodeToString(sum[:]))
		}
		return b.String(), hashes, nil
	}
	unsignedClaim := claimed == "UNSIGNED-PAYLOAD" || strings.HasPrefix(claimed, "STREAMING-")
	var hash string
	switch {
	case unsigned && unsignedClaim:
		hash = claimed
	case unsigned && claimed == "" && body == nil:
		hash = "UNSIGNED-PAYLOAD"
	case unsigned && body == nil && isSHA256Hex(claimed):
		// A streamed body (S3's PutObject) is hashed as it is read, not
		// here: the signature covers the claimed hash, and the caller
		// refuses the body if it hashes to anything else (S3's
		// XAmzContentSHA256Mismatch) before acting on it.
		hash = strings.ToLower(claimed)
	case unsignedClaim:
		return "", nil, &Error{Invalid, "The payload of this request must be signed: x-amz-content-sha256 " + claimed + " is not accepted here."}
	default:
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
		if claimed != "" && !strings.EqualFold(claimed, hash) {
			return "", nil, &Error{Invalid, "The provided 'x-amz-content-sha256' header does not match what was computed."}
		}
	}
	return b.String(), []string{hash}, nil
}

// isSHA256Hex reports whether s is a SHA-256 in hex (64 hex digits).
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// uriEncode percent-encodes everything but unreserved characters, as SigV4
// requires.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
