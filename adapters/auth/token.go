package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// TokenBytes is the entropy of a session token: 256 bits.
const TokenBytes = 32

// NewToken returns a fresh session token and the hash under which it is
// stored. Only the hash is kept; a stolen database holds no usable token.
func NewToken() (token string, hash []byte, err error) {
	raw := make([]byte, TokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	return token, HashToken(token), nil
}

// HashToken is the stored form of a token. Tokens carry 256 random bits, so
// a plain SHA-256 (no salt, no stretching) is enough and lets the store look
// a session up by hash.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
