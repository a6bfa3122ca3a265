package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/melmastoon/iam/internal/problem"
)

// Page sizes.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
	maxCursorBytes  = 1024
)

// page is the envelope of every list response.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// pageParams reads ?limit= and ?cursor= (an opaque base64url token).
func pageParams(r *http.Request) (limit int, after string, err error) {
	limit = defaultPageSize
	if v := r.URL.Query().Get("limit"); v != "" {
		limit, err = strconv.Atoi(v)
		if err != nil || limit < 1 || limit > maxPageSize {
			return 0, "", &problem.Error{Code: problem.PaginationLimit, Field: "limit", Detail: "limit must be 1-1000"}
		}
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(c)
		if derr != nil || len(raw) == 0 || len(raw) > maxCursorBytes || !utf8.Valid(raw) {
			return 0, "", &problem.Error{Code: problem.PaginationCursor, Field: "cursor", Detail: "cursor is not one this server issued"}
		}
		after = string(raw)
	}
	return limit, after, nil
}

// paginate trims a result fetched with limit+1 rows and sets the cursor.
func paginate[T any](items []T, limit int, key func(T) string) page[T] {
	p := page[T]{Items: items}
	if p.Items == nil {
		p.Items = []T{}
	}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(key(items[limit-1])))
	}
	return p
}
