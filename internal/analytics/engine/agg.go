package engine

import (
	"encoding/binary"
	"math"
	"time"
)

// accum is the running state of one aggregate. One struct for every
// function keeps groups to one allocation for all their aggregates; sub
// supports the sliding windows' evictions for the functions computed from
// sums (COUNT, SUM, AVG, STDDEV_*, VAR_*). MIN, MAX and the value functions
// of sliding windows read the window buffer instead (see slide.go).
type accum struct {
	n     int64 // non-NULL values (rows for COUNT(*))
	isum  int64
	fsum  float64
	sq    float64
	float bool
	v     any // MIN/MAX/FIRST_VALUE/LAST_VALUE, ANY/EVERY
	set   bool
}

func (a *accum) add(name string, x any) {
	if x == nil {
		return
	}
	a.n++
	switch name {
	case "COUNT":
	case "SUM", "AVG", "STDDEV_POP", "STDDEV_SAMP", "STDDEV", "VAR_POP", "VAR_SAMP", "VARIANCE":
		switch y := x.(type) {
		case int64:
			a.isum += y
			f := float64(y)
			a.fsum += f
			a.sq += f * f
		case float64:
			a.float = true
			a.fsum += y
			a.sq += y * y
		}
	case "MIN", "MAX":
		if !a.set {
			a.v, a.set = x, true
			return
		}
		c, ok := compare(x, a.v)
		if ok && ((name == "MIN" && c < 0) || (name == "MAX" && c > 0)) {
			a.v = x
		}
	case "FIRST_VALUE":
		if !a.set {
			a.v, a.set = x, true
		}
	case "LAST_VALUE":
		a.v, a.set = x, true
	case "ANY":
		a.v = a.v == true || x == true
	case "EVERY":
		a.v = (!a.set || a.v == true) && x == true
		a.set = true
	}
}

func (a *accum) sub(name string, x any) {
	if x == nil {
		return
	}
	a.n--
	switch y := x.(type) {
	case int64:
		a.isum -= y
		f := float64(y)
		a.fsum -= f
		a.sq -= f * f
	case float64:
		a.fsum -= y
		a.sq -= y * y
	}
}

// result is the aggregate's value. Choices: SUM/AVG/MIN/MAX of no values are
// NULL, COUNT is 0 (SQL:2008 §10.9); AVG of integers is an integer,
// truncated (sqlref AVG, §4); STDDEV_SAMP/VAR_SAMP of one value are NULL.
func (a *accum) result(name string) any {
	switch name {
	case "COUNT":
		return a.n
	case "SUM":
		if a.n == 0 {
			return nil
		}
		if a.float {
			return a.fsum
		}
		return a.isum
	case "AVG":
		if a.n == 0 {
			return nil
		}
		if a.float {
			return a.fsum / float64(a.n)
		}
		return a.isum / a.n
	case "VAR_POP", "STDDEV_POP", "VAR_SAMP", "STDDEV_SAMP", "STDDEV", "VARIANCE":
		n := float64(a.n)
		if a.n == 0 {
			return nil
		}
		d := n
		if name == "VAR_SAMP" || name == "STDDEV_SAMP" || name == "STDDEV" || name == "VARIANCE" {
			if a.n < 2 {
				return nil
			}
			d = n - 1
		}
		v := (a.sq - a.fsum*a.fsum/n) / d
		if v < 0 {
			v = 0
		}
		if name == "VAR_POP" || name == "VAR_SAMP" || name == "VARIANCE" {
			return v
		}
		return math.Sqrt(v)
	}
	if name == "ANY" || name == "EVERY" {
		if a.n == 0 {
			return nil
		}
	}
	return a.v
}

// appendKey appends an encoding of v that is equal for equal values of the
// same class (group and partition keys, join index).
func appendKey(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 0)
	case bool:
		if x {
			return append(b, 1, 1)
		}
		return append(b, 1, 0)
	case int64:
		// Integers and integral doubles share an encoding, as they compare equal.
		b = append(b, 2)
		return binary.BigEndian.AppendUint64(b, uint64(x))
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e18 {
			b = append(b, 2)
			return binary.BigEndian.AppendUint64(b, uint64(int64(x)))
		}
		b = append(b, 3)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(x))
	case string:
		b = append(b, 4)
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...)
	case []byte:
		b = append(b, 5)
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...)
	case time.Time:
		b = append(b, 6)
		return binary.BigEndian.AppendUint64(b, uint64(x.UnixNano()))
	}
	b = append(b, 7)
	s := toString(v)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
