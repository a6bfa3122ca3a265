package client

import (
	"encoding/json"
	"net/http"
)

// ErrorWriter writes the middleware's refusals. status is the HTTP status,
// code a MELMASTOON.IAM.* code and detail a sentence for humans that
// never contains the token. Headers the refusal needs (WWW-Authenticate
// on 401, Retry-After on 503) are already set on w when it is called.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, code, detail string)

// problemBody is the application/problem+json body the middleware writes
// (RFC 9457, with the registered code).
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
}

// writeProblem writes an RFC 9457 problem. An empty title is the code's
// registered title, else the status text.
func writeProblem(w http.ResponseWriter, status int, code, title, detail string) {
	if title == "" {
		title = titles[code]
	}
	if title == "" {
		title = http.StatusText(status)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problemBody{Type: problemTypeBase + code, Title: title,
		Status: status, Code: code, Detail: detail})
}
