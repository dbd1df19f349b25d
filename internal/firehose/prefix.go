package firehose

import (
	"crypto/rand"
	"strconv"
	"strings"
	"time"
)

// S3 prefixes and their expressions, as AWS's "Custom Prefixes for Amazon S3
// Objects" documents them:
//
//   - !{timestamp:<pattern>}: the arrival time of the oldest record of the
//     object, formatted with a Java DateTimeFormatter pattern (text in single
//     quotes literal); every use in one prefix formats the same instant;
//   - !{firehose:random-string}: 11 random characters, new for each use;
//   - !{firehose:error-output-type}: only in ErrorOutputPrefix;
//   - !{partitionKeyFromQuery:…} and !{partitionKeyFromLambda:…}: dynamic
//     partitioning, which this endpoint does not serve yet.
//
// A prefix without a timestamp expression gets !{timestamp:yyyy/MM/dd/HH/}
// appended; "!{" may only start an expression; ErrorOutputPrefix may be
// omitted only when Prefix has no expressions (it is then Prefix followed by
// the error output type and the default time path); an ErrorOutputPrefix
// with expressions must use !{firehose:error-output-type}.

// defaultTimePath is appended to prefixes without a timestamp expression.
const defaultTimePath = "!{timestamp:yyyy/MM/dd/HH/}"

type prefixPart struct {
	literal   string
	namespace string // "" for a literal
	value     string
}

// parsePrefix splits a prefix into literals and expressions; partition key
// expressions are refused (they need dynamic partitioning: parsePrefixDP).
func parsePrefix(p string) ([]prefixPart, error) { return parsePrefixWith(p, false) }

// parsePrefixDP parses a prefix of a stream with dynamic partitioning.
func parsePrefixDP(p string) ([]prefixPart, error) { return parsePrefixWith(p, true) }

func parsePrefixWith(p string, dynamic bool) ([]prefixPart, error) {
	var parts []prefixPart
	for {
		i := strings.Index(p, "!{")
		if i < 0 {
			if p != "" {
				parts = append(parts, prefixPart{literal: p})
			}
			return parts, nil
		}
		if i > 0 {
			parts = append(parts, prefixPart{literal: p[:i]})
		}
		end := strings.IndexByte(p[i:], '}')
		if end < 0 {
			return nil, errorf(KindInvalidArgument, "Invalid prefix: an expression starting with !{ is not closed with }.")
		}
		expr := p[i+2 : i+end]
		ns, val, ok := strings.Cut(expr, ":")
		if !ok {
			return nil, errorf(KindInvalidArgument, "Invalid prefix expression !{%s}: expected !{namespace:value}.", expr)
		}
		switch ns {
		case "timestamp":
			if _, err := compileTimestamp(val); err != nil {
				return nil, err
			}
		case "firehose":
			if val != "random-string" && val != "error-output-type" {
				return nil, errorf(KindInvalidArgument, "Invalid prefix expression !{%s}: the firehose namespace has random-string and error-output-type.", expr)
			}
		case "partitionKeyFromQuery", "partitionKeyFromLambda":
			if !dynamic {
				return nil, errorf(KindInvalidArgument, "Prefix expression !{%s} needs dynamic partitioning enabled.", expr)
			}
			if val == "" {
				return nil, errorf(KindInvalidArgument, "Prefix expression !{%s} names no partition key.", expr)
			}
		default:
			return nil, errorf(KindInvalidArgument, "Invalid prefix expression !{%s}: unknown namespace %s.", expr, ns)
		}
		parts = append(parts, prefixPart{namespace: ns, value: val})
		p = p[i+end+1:]
	}
}

func hasExpr(parts []prefixPart, ns, val string) bool {
	for _, p := range parts {
		if p.namespace == ns && (val == "" || p.value == val) {
			return true
		}
	}
	return false
}

// checkPrefixes applies AWS's prefix rules to a Prefix and ErrorOutputPrefix
// (nil: not given).
func checkPrefixes(prefix string, errorPrefix any) error {
	pp, err := parsePrefix(prefix)
	if err != nil {
		return err
	}
	if hasExpr(pp, "firehose", "error-output-type") {
		return errorf(KindInvalidArgument, "The Prefix cannot contain the expression !{firehose:error-output-type}; use it in ErrorOutputPrefix.")
	}
	ep, given := errorPrefix.(string)
	if !given || ep == "" {
		for _, p := range pp {
			if p.namespace != "" {
				return errorf(KindInvalidArgument, "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions.")
			}
		}
		return nil
	}
	epp, err := parsePrefix(ep)
	if err != nil {
		return err
	}
	exprs := false
	for _, p := range epp {
		exprs = exprs || p.namespace != ""
	}
	if exprs && !hasExpr(epp, "firehose", "error-output-type") {
		return errorf(KindInvalidArgument, "ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains expressions.")
	}
	return nil
}

// objectPrefix evaluates a destination's Prefix for an object whose oldest
// record arrived at t.
func objectPrefix(prefix string, t time.Time) string {
	parts, _ := parsePrefix(prefix)
	if !hasExpr(parts, "timestamp", "") {
		dp, _ := parsePrefix(defaultTimePath)
		parts = append(parts, dp...)
	}
	return evalPrefix(parts, t, "")
}

// errorObjectPrefix evaluates the error prefix for an error output type
// (processing-failed, http-endpoint-failed, …).
func errorObjectPrefix(prefix string, errorPrefix any, t time.Time, outputType string) string {
	ep, _ := errorPrefix.(string)
	if ep == "" {
		parts, _ := parsePrefix(prefix)
		dp, _ := parsePrefix(defaultTimePath)
		parts = append(append(parts, prefixPart{literal: outputType + "/"}), dp...)
		return evalPrefix(parts, t, outputType)
	}
	parts, _ := parsePrefix(ep)
	if !hasExpr(parts, "timestamp", "") {
		dp, _ := parsePrefix(defaultTimePath)
		parts = append(parts, dp...)
	}
	return evalPrefix(parts, t, outputType)
}

func evalPrefix(parts []prefixPart, t time.Time, outputType string) string {
	out, _ := evalPrefixKeys(parts, t, outputType, nil)
	return out
}

// evalPrefixKeys evaluates a prefix with a record's partition keys (query
// keys under "Q:", Lambda keys under "L:"); ok is false when a key the
// prefix names is missing.
func evalPrefixKeys(parts []prefixPart, t time.Time, outputType string, keys map[string]string) (string, bool) {
	var b strings.Builder
	for _, p := range parts {
		switch p.namespace {
		case "partitionKeyFromQuery", "partitionKeyFromLambda":
			v, ok := keys[p.namespace[len("partitionKeyFrom"):len("partitionKeyFrom")+1]+":"+p.value]
			if !ok {
				return "", false
			}
			b.WriteString(v)
		case "":
			b.WriteString(p.literal)
		case "timestamp":
			f, _ := compileTimestamp(p.value)
			b.WriteString(f(t))
		case "firehose":
			if p.value == "random-string" {
				b.WriteString(randomString(11))
			} else {
				b.WriteString(outputType)
			}
		}
	}
	return b.String(), true
}

const randomAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = randomAlphabet[int(b[i])%len(randomAlphabet)]
	}
	return string(b)
}

// compileTimestamp compiles the Java DateTimeFormatter letters Firehose
// users write (y, M, d, H, h, m, s, S, a, E, D, w is not supported) with
// quoted literals, into a formatter.
func compileTimestamp(pattern string) (func(time.Time) string, error) {
	type tok struct {
		letter byte
		n      int
		lit    string
	}
	var toks []tok
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(pattern[i+1:], '\'')
			if j < 0 {
				return nil, errorf(KindInvalidArgument, "Invalid timestamp pattern %q: unterminated quote.", pattern)
			}
			lit := pattern[i+1 : i+1+j]
			if lit == "" {
				lit = "'"
			}
			toks = append(toks, tok{lit: lit})
			i += j + 2
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(pattern) && pattern[j] == c {
				j++
			}
			if !strings.ContainsRune("yuMLdHhmsSaEDk", rune(c)) {
				return nil, errorf(KindInvalidArgument, "Invalid timestamp pattern %q: the letter %c is not supported.", pattern, c)
			}
			toks = append(toks, tok{letter: c, n: j - i})
			i = j
		default:
			toks = append(toks, tok{lit: string(c)})
			i++
		}
	}
	return func(t time.Time) string {
		var b strings.Builder
		pad := func(v, n int) {
			s := strconv.Itoa(v)
			for len(s) < n {
				s = "0" + s
			}
			b.WriteString(s)
		}
		for _, k := range toks {
			switch k.letter {
			case 0:
				b.WriteString(k.lit)
			case 'y', 'u':
				if k.n == 2 {
					pad(t.Year()%100, 2)
				} else {
					pad(t.Year(), k.n)
				}
			case 'M', 'L':
				switch {
				case k.n >= 4:
					b.WriteString(t.Month().String())
				case k.n == 3:
					b.WriteString(t.Month().String()[:3])
				default:
					pad(int(t.Month()), k.n)
				}
			case 'd':
				pad(t.Day(), k.n)
			case 'D':
				pad(t.YearDay(), k.n)
			case 'H':
				pad(t.Hour(), k.n)
			case 'k':
				h := t.Hour()
				if h == 0 {
					h = 24
				}
				pad(h, k.n)
			case 'h':
				h := t.Hour() % 12
				if h == 0 {
					h = 12
				}
				pad(h, k.n)
			case 'm':
				pad(t.Minute(), k.n)
			case 's':
				pad(t.Second(), k.n)
			case 'S':
				ns := t.Nanosecond()
				digits := strconv.Itoa(ns + 1e9)[1:] // 9 digits
				if k.n <= 9 {
					b.WriteString(digits[:k.n])
				} else {
					b.WriteString(digits + strings.Repeat("0", k.n-9))
				}
			case 'a':
				if t.Hour() < 12 {
					b.WriteString("AM")
				} else {
					b.WriteString("PM")
				}
			case 'E':
				if k.n >= 4 {
					b.WriteString(t.Weekday().String())
				} else {
					b.WriteString(t.Weekday().String()[:3])
				}
			}
		}
		return b.String()
	}, nil
}
