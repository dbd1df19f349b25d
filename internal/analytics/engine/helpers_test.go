package engine

import (
	"time"

	"errors"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

func asSyntax(err error) (*kdasql.Error, bool) {
	var se *kdasql.Error
	ok := errors.As(err, &se)
	return se, ok
}

const time30s = 30 * 1e9

func durationOf(i int) time.Duration { return time.Duration(i) }
