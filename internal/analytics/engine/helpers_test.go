package engine

import (
	"errors"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

func asSyntax(err error) (*kdasql.Error, bool) {
	var se *kdasql.Error
	ok := errors.As(err, &se)
	return se, ok
}
