package apitest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// SpecPath is core's contract, EdgeSpecPath the edge's, relative to the
// module root.
const (
	SpecPath     = "openapi/iam-service.yaml"
	EdgeSpecPath = "openapi/iam-edge.yaml"
)

// Contract is the loaded, validated OpenAPI document with a router over its
// operations.
type Contract struct {
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options
}

// Load reads the contract from the module root (found by walking up from the
// working directory to go.mod), validates the document and builds a router.
// Any failure ends the test.
func Load(t testing.TB) *Contract {
	t.Helper()
	return LoadSpec(t, SpecPath)
}

// LoadSpec is Load for the contract at rel (SpecPath or EdgeSpecPath).
func LoadSpec(t testing.TB, rel string) *Contract {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	c, err := LoadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	return c
}

// LoadFile loads and validates the OpenAPI document at path.
func LoadFile(path string) (*Contract, error) {
	registerDecoders()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, errors.Join(errors.New("invalid OpenAPI document "+path), err)
	}
	defineFormats(doc)
	router, err := newRouter(doc)
	if err != nil {
		return nil, err
	}
	return &Contract{doc: doc, router: router, opts: options(doc)}, nil
}

// Doc returns the loaded document (read-only).
func (c *Contract) Doc() *openapi3.T { return c.doc }

// moduleRoot walks up from the working directory to the directory that
// holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// defineFormats gives the document validators for the string formats the
// contract uses beyond kin-openapi's defaults (date-time is built in). The
// service issues UUIDv7 ids, hence RFC 9562 rather than RFC 4122.
func defineFormats(doc *openapi3.T) {
	doc.SetStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	doc.SetStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
}

// newRouter routes on paths only: the document's server (127.0.0.1:8080)
// must not stop it from matching requests to a test server on another port.
func newRouter(doc *openapi3.T) (routers.Router, error) {
	anyHost := *doc
	anyHost.Servers = nil
	return gorillamux.NewRouter(&anyHost)
}

// options configures openapi3filter: the bearer token is accepted as sent
// (authentication is the service's business), undocumented response
// statuses are errors, and the document's format validators apply.
func options(doc *openapi3.T) *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:      func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
		IncludeResponseStatus:   true,
		SkipSettingDefaults:     true,
		SchemaValidationOptions: doc.GetSchemaValidationOptions(),
	}
}

var registerOnce sync.Once

// registerDecoders teaches openapi3filter the OpenMetrics media type that
// /metrics may answer; it is plain text. The registry is process-global, so
// this runs once.
func registerDecoders() {
	registerOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("application/openmetrics-text", openapi3filter.PlainBodyDecoder)
	})
}
