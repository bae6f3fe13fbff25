// Package auth holds the credentials machinery shared by the HTTP API, the
// socket gateway and the operator tool: argon2id password hashes, session
// tokens and the rate limiters that guard log-in.
//
// It must never import another adapter; it knows nothing of storage.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, one
// lane). A hash takes about 30 ms on this project's 2-core machine; they are
// encoded into every hash, so raising them later keeps old hashes valid.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// HashPassword returns a PHC-formatted argon2id hash of password.
func HashPassword(password string) ([]byte, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Appendf(nil, "$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// dummyHash is checked when a username is unknown, so an unknown user takes
// as long to refuse as a wrong password and names cannot be enumerated.
var dummyHash = func() []byte {
	h, err := HashPassword("not a real password, only a timing decoy")
	if err != nil {
		panic(err)
	}
	return h
}()

// CheckPassword reports whether password matches hash. A nil hash (unknown
// user) is checked against a decoy and never matches.
func CheckPassword(hash []byte, password string) (bool, error) {
	if hash == nil {
		_, _ = checkPHC(dummyHash, password)
		return false, nil
	}
	return checkPHC(hash, password)
}

var errBadHash = errors.New("malformed password hash")

func checkPHC(hash []byte, password string) (bool, error) {
	parts := strings.Split(string(hash), "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
