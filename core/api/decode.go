package api

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/melmastoon/iam/internal/jsonbody"
	"github.com/melmastoon/iam/internal/problem"
)

// readBody reads at most MaxBodyBytes of a JSON request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return jsonbody.Read(w, r, MaxBodyBytes)
}

// readRawBody reads at most MaxBodyBytes of the body, whatever its type.
func readRawBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return jsonbody.ReadRaw(w, r, MaxBodyBytes)
}

// decodeStrict decodes exactly one JSON object into v, rejecting unknown
// fields and trailing data.
func decodeStrict(body []byte, v any) error { return jsonbody.Decode(body, v) }

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
