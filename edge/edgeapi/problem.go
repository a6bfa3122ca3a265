package edgeapi

import (
	"github.com/melmastoon/iam/edge/wire"
	"github.com/melmastoon/iam/internal/problem"
)

// Code constants for services matching on them: see edge/wire.
const (
	CodeTokenMalformed   = wire.CodeTokenMalformed
	CodeEdgeStale        = wire.CodeEdgeStale
	CodeValidationFailed = wire.CodeValidationFailed
	CodeBatchTooLarge    = wire.CodeBatchTooLarge
)

// newProblem builds a Problem of a registered code.
func newProblem(code problem.Code, field, detail string) *Problem {
	spec, _ := problem.Lookup(code)
	return &Problem{Type: problem.TypeBase + string(code), Title: spec.Title, Status: spec.Status,
		Detail: detail, Code: string(code), Field: field}
}

// invalid is a validation failure of one field.
func invalid(field, detail string) *Problem {
	return newProblem(problem.ValidationFailed, field, detail)
}
