package client

import (
	"fmt"
	"net/http"
)

// OrgFunc names the organization a request acts on, for Require's
// permission check. An error refuses the request with 400
// MELMASTOON.IAM.VALIDATION.FAILED and its message as the detail, so it
// should say what is missing, not why internally.
type OrgFunc func(*http.Request) (string, error)

// OrgFromPath reads the organization from the path wildcard name of the
// route's ServeMux pattern (r.PathValue). An empty value is an error.
func OrgFromPath(name string) OrgFunc {
	return func(r *http.Request) (string, error) {
		if v := r.PathValue(name); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("client: path value %q is missing", name)
	}
}

// OrgFromHeader reads the organization from the request header name. An
// absent or empty header is an error.
func OrgFromHeader(name string) OrgFunc {
	return func(r *http.Request) (string, error) {
		if v := r.Header.Get(name); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("client: header %s is missing", name)
	}
}

// FixedOrg always names the organization id; it never fails.
func FixedOrg(id string) OrgFunc {
	return func(*http.Request) (string, error) { return id, nil }
}
