package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/melmastoon/iam/internal/problem"
)

// Read reads at most limit bytes of a JSON request body. A Content-Type
// other than application/json is refused; a missing one is accepted.
func Read(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, problem.New(problem.RequestMediaType, "Content-Type must be application/json")
		}
	}
	return ReadRaw(w, r, limit)
}

// ReadRaw reads at most limit bytes of the body, whatever its type.
func ReadRaw(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, problem.New(problem.RequestTooLarge, fmt.Sprintf("request body exceeds %d KiB", limit>>10))
	}
	if err != nil {
		return nil, &problem.Error{Code: problem.RequestMalformed, Detail: "request body could not be read", Err: err}
	}
	return body, nil
}

// Decode decodes exactly one JSON object into v, rejecting unknown fields
// and trailing data.
func Decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(err)
	}
	if dec.More() {
		return problem.New(problem.RequestMalformed, "request body must hold exactly one JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problem.New(problem.RequestMalformed, "request body must hold exactly one JSON object")
	}
	return nil
}

func decodeProblem(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return problem.New(problem.RequestMalformed, "request body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return problem.New(problem.RequestMalformed, "request body is not valid JSON")
	case errors.As(err, &typ):
		return &problem.Error{Code: problem.ValidationFailed, Field: typ.Field, Detail: "must be a " + typ.Type.String()}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &problem.Error{Code: problem.RequestUnknownField, Field: field, Detail: "unknown field " + field}
	}
	return problem.New(problem.RequestMalformed, "request body could not be decoded")
}
