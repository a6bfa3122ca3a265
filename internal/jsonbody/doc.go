// Package jsonbody reads and strictly decodes JSON request bodies for the
// HTTP APIs of core and edge, turning every failure into a registered
// problem (internal/problem): wrong media type, too large, not one JSON
// object, unknown field, wrong type.
package jsonbody
