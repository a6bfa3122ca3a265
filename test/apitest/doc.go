// Package apitest holds the REST contract of the IAM service
// (openapi/iam-service.yaml) to the behaviour of the real handlers.
//
// A test loads the contract once with [Load] and talks to the service through
// the client from [Contract.Client]. That client validates every request it
// sends and every response it receives against the OpenAPI document:
//
//   - a request to a path or method the contract does not describe is an
//     error, so the contract cannot silently drift from the routes;
//   - a request must match its operation (parameters, headers, body);
//   - a response must have a status code the operation documents, and its
//     headers and body must match that response (problem+json bodies match
//     the Problem schema).
//
// Mismatches are reported with t.Errorf, never t.Fatal, so they are safe from
// the transport goroutine and do not hide the test's own assertions. A test
// that deliberately sends bad input (an invalid slug, an unknown field, a
// wrong type) marks the request's context with [SkipRequestValidation]; its
// response is still validated.
//
//	c := apitest.Load(t)
//	client := c.Client(t, nil)
//	ctx := apitest.SkipRequestValidation(context.Background())
//	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"bogus":1}`))
//	resp, err := client.Do(req) // the 400 problem body is still checked
package apitest
