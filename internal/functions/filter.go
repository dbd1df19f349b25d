package functions

import (
	"encoding/json"
	"fmt"
	"strings"
)

// A filter is one of an event source mapping's FilterCriteria patterns, in
// EventBridge's pattern syntax as Lambda applies it to Kinesis records: the
// keys partitionKey, sequenceNumber and data (the record's data, which must
// be JSON for a data pattern to match). Values are lists of matchers:
// literals (exact equality: 300 is not 300.0), {"prefix": s},
// {"anything-but": v or [v...]}, {"numeric": [op, n, ...]}, {"exists": b};
// objects nest. A record matching no filter is skipped and checkpointed.
type filter map[string]any

// parseFilters checks the patterns as create and update do.
func parseFilters(patterns []string) ([]filter, error) {
	var out []filter
	for _, p := range patterns {
		var f filter
		if err := json.Unmarshal([]byte(p), &f); err != nil || f == nil {
			return nil, errorf(KindInvalidParameter, "Invalid filter pattern definition: %s", p)
		}
		if err := checkPattern(f); err != nil {
			return nil, errorf(KindInvalidParameter, "Invalid filter pattern definition: %s (%v)", p, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func checkPattern(p map[string]any) error {
	for k, v := range p {
		switch x := v.(type) {
		case map[string]any:
			if err := checkPattern(x); err != nil {
				return err
			}
		case []any:
			for _, m := range x {
				if op, ok := m.(map[string]any); ok {
					if len(op) != 1 {
						return fmt.Errorf("matcher %v of %s must have one operator", op, k)
					}
					for name, arg := range op {
						switch name {
						case "prefix":
							if _, ok := arg.(string); !ok {
								return fmt.Errorf("prefix of %s must be a string", k)
							}
						case "anything-but", "exists":
						case "numeric":
							l, ok := arg.([]any)
							if !ok || len(l)%2 != 0 || len(l) == 0 {
								return fmt.Errorf("numeric of %s must be [operator, number, ...]", k)
							}
							for i := 0; i < len(l); i += 2 {
								op, _ := l[i].(string)
								if _, isNum := l[i+1].(float64); !isNum || !strings.Contains("= < <= > >=", op) || op == "" {
									return fmt.Errorf("numeric of %s: bad %v %v", k, l[i], l[i+1])
								}
							}
						default:
							return fmt.Errorf("unknown operator %q for %s", name, k)
						}
					}
				}
			}
		default:
			return fmt.Errorf("the value of %s must be an array of matchers or an object", k)
		}
	}
	return nil
}

// matches reports whether a record passes any of the filters (no filters:
// every record passes).
func matches(filters []filter, r SourceRecord) bool {
	if len(filters) == 0 {
		return true
	}
	var data any
	dataOK := json.Unmarshal(r.Data, &data) == nil
	ev := map[string]any{"partitionKey": r.PartitionKey, "sequenceNumber": r.SequenceNumber}
	if dataOK {
		ev["data"] = data
	}
	for _, f := range filters {
		if _, wantsData := f["data"]; wantsData && !dataOK {
			continue // non-JSON data never matches a data pattern
		}
		if matchObject(f, ev) {
			return true
		}
	}
	return false
}

func matchObject(p map[string]any, ev map[string]any) bool {
	for k, want := range p {
		v, present := ev[k]
		switch w := want.(type) {
		case map[string]any:
			sub, ok := v.(map[string]any)
			if !ok || !matchObject(w, sub) {
				return false
			}
		case []any:
			if !matchValue(w, v, present) {
				return false
			}
		}
	}
	return true
}

// matchValue: a value (or any element of an array value) matches any of
// the matchers.
func matchValue(matchers []any, v any, present bool) bool {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if matchValue(matchers, e, true) {
				return true
			}
		}
		return false
	}
	for _, m := range matchers {
		op, isOp := m.(map[string]any)
		if !isOp {
			if present && jsonEqual(m, v) {
				return true
			}
			continue
		}
		for name, arg := range op {
			switch name {
			case "exists":
				if want, _ := arg.(bool); want == present {
					return true
				}
			case "prefix":
				if s, ok := v.(string); ok && present && strings.HasPrefix(s, arg.(string)) {
					return true
				}
			case "anything-but":
				if !present {
					continue
				}
				excluded := false
				if l, ok := arg.([]any); ok {
					for _, x := range l {
						excluded = excluded || jsonEqual(x, v)
					}
				} else {
					excluded = jsonEqual(arg, v)
				}
				if !excluded {
					return true
				}
			case "numeric":
				n, ok := v.(float64)
				if !ok || !present {
					continue
				}
				l := arg.([]any)
				all := true
				for i := 0; i < len(l); i += 2 {
					bound := l[i+1].(float64)
					switch l[i].(string) {
					case "=":
						all = all && n == bound
					case "<":
						all = all && n < bound
					case "<=":
						all = all && n <= bound
					case ">":
						all = all && n > bound
					case ">=":
						all = all && n >= bound
					}
				}
				if all {
					return true
				}
			}
		}
	}
	return false
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
