package devcert

import (
	"fmt"
	"strings"
)

// Device URI layout: deviceURIPrefix, tenant UUID, deviceURIMiddle, device
// UUID. Both UUIDs are canonical: 36 characters, lowercase hex, hyphens at
// 8, 13, 18 and 23, not the nil UUID.
const (
	deviceURIPrefix = "urn:melmastoon:iam:tenant:"
	deviceURIMiddle = ":device:"
	uuidLen         = 36
	deviceURILen    = len(deviceURIPrefix) + uuidLen + len(deviceURIMiddle) + uuidLen
)

// DeviceURI returns the SAN URI of a device certificate:
// "urn:melmastoon:iam:tenant:<tenantID>:device:<deviceID>". It does not
// validate; ParseDeviceURI does.
func DeviceURI(tenantID, deviceID string) string {
	return deviceURIPrefix + tenantID + deviceURIMiddle + deviceID
}

// ParseDeviceURI splits a URI made by DeviceURI. It accepts only the exact
// layout with canonical lowercase UUIDs and returns an error wrapping
// ErrMalformed for anything else (other case, braces, extra characters).
func ParseDeviceURI(s string) (tenantID, deviceID string, err error) {
	if len(s) != deviceURILen || !strings.HasPrefix(s, deviceURIPrefix) {
		return "", "", fmt.Errorf("%w: not a device URI", ErrMalformed)
	}
	rest := s[len(deviceURIPrefix):]
	tenantID, rest = rest[:uuidLen], rest[uuidLen:]
	if !strings.HasPrefix(rest, deviceURIMiddle) {
		return "", "", fmt.Errorf("%w: not a device URI", ErrMalformed)
	}
	deviceID = rest[len(deviceURIMiddle):]
	if !IsCanonicalUUID(tenantID) || !IsCanonicalUUID(deviceID) {
		return "", "", fmt.Errorf("%w: device URI ids are not canonical UUIDs", ErrMalformed)
	}
	return tenantID, deviceID, nil
}

// IsCanonicalUUID reports whether s is a canonical lowercase UUID other
// than the nil UUID: 36 characters, lowercase hex, hyphens at 8, 13, 18 and
// 23. Any version and variant is accepted: ids are minted by core. Tenant
// and device ids in device URIs, CA subjects and trust bundles are such
// UUIDs.
func IsCanonicalUUID(s string) bool {
	if len(s) != uuidLen {
		return false
	}
	nonZero := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '1' && c <= '9' || c >= 'a' && c <= 'f':
			nonZero = true
		case c != '0':
			return false
		}
	}
	return nonZero
}
