package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/melmastoon/iam/internal/problem"
)

// readBody reads at most MaxBodyBytes of a JSON request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, problem.New(problem.RequestMediaType, "Content-Type must be application/json")
		}
	}
	return readRawBody(w, r)
}

// readRawBody reads at most MaxBodyBytes of the body, whatever its type.
func readRawBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, problem.New(problem.RequestTooLarge, "request body exceeds 64 KiB")
	}
	if err != nil {
		return nil, &problem.Error{Code: problem.RequestMalformed, Detail: "request body could not be read", Err: err}
	}
	return body, nil
}

// decodeStrict decodes exactly one JSON object into v, rejecting unknown
// fields and trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if dec.More() {
		return problem.New(problem.RequestMalformed, "request body must hold exactly one JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problem.New(problem.RequestMalformed, "request body must hold exactly one JSON object")
	}
	return nil
}

func jsonProblem(err error) error {
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

// required reports a missing required string field.
func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return &problem.Error{Code: problem.ValidationFailed, Field: field, Detail: field + " is required"}
	}
	return nil
}

// peekBody reads the body for a handler that must look at it before
// mutate does, and puts it back.
func peekBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}
