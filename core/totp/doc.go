// Package totp implements the second factor of sign-in: time-based one-time
// passwords (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, on top of
// HOTP, RFC 4226) via github.com/pquerna/otp, and single-use recovery
// codes. It does no I/O; time comes from the caller.
//
// # Enrolment
//
// Generate returns a fresh secret and its otpauth:// URI (Key URI Format of
// Google Authenticator) for a QR code. Store the secret encrypted (it is a
// shared secret, unlike a password hash) and enable the factor only after
// the user has entered one valid code.
//
// # Replay
//
// Validate returns the time step a code matched. A code stays valid for up
// to (2·skew+1) steps, so the caller must persist the last step it accepted
// per account and refuse any code whose step is at or below it; ValidateAfter
// does that comparison. Persist the new step in the same transaction that
// completes the sign-in, so two concurrent requests with one code cannot
// both succeed (compare-and-set on the stored step).
//
// # Recovery codes
//
// GenerateRecoveryCodes returns RecoveryCodeCount codes of
// RecoveryCodeGroups groups of four characters from Crockford's base32
// alphabet (no I, L, O, U), 5 bits per character: 80 bits per code.
// Plain codes are shown once; only their hashes are stored. They are hashed
// with SHA-256 over a domain label, the account id and the normalised code,
// not with Argon2:
//
//   - Argon2 exists to slow down guessing of low-entropy human passwords. An
//     80-bit random code cannot be guessed either online (attempts are rate
//     limited) or offline: even at 10^10 SHA-256/s, 2^80/10 tries per code
//     set take over 3·10^5 years.
//   - Binding the account id makes each hash specific to one account, so an
//     attacker holding a database dump cannot test one guess against every
//     account's codes at once.
//   - Argon2 would spend ~24 ms × 10 codes per attempt on the login
//     ceiling (LIMITS.md) for no security gain.
//
// Input is normalised before hashing: case folded, dashes and spaces
// removed, and the Crockford look-alikes O→0, I/L→1 mapped.
package totp
