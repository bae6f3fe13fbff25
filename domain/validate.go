package domain

import (
	"strings"
	"unicode/utf8"
)

// Limits of PROTOCOL.md, in characters (Unicode code points) after trimming.
const (
	UsernameMinLen = 3
	UsernameMaxLen = 32
	PasswordMinLen = 8
	PasswordMaxLen = 256
	RoomNameMaxLen = 64
	BodyMaxLen     = 4000
)

// Roles a user may hold.
const (
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"
)

// NormalizeUsername lowers name and checks it against [a-z0-9_.-]{3,32}.
func NormalizeUsername(name string) (string, error) {
	name = strings.ToLower(name)
	if n := len(name); n < UsernameMinLen || n > UsernameMaxLen {
		return "", Errorf(CodeInvalid, "username: must be %d to %d characters", UsernameMinLen, UsernameMaxLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", Errorf(CodeInvalid, "username: only letters, digits, '_', '.' and '-' are allowed")
		}
	}
	return name, nil
}

// ValidatePassword checks the length rule; the password itself never leaves
// the adapter that hashes it.
func ValidatePassword(pw string) error {
	if !utf8.ValidString(pw) {
		return Errorf(CodeInvalid, "password: must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(pw); n < PasswordMinLen || n > PasswordMaxLen {
		return Errorf(CodeInvalid, "password: must be %d to %d characters", PasswordMinLen, PasswordMaxLen)
	}
	return nil
}

// NormalizeBody trims a message body and checks it is 1–4000 characters of
// valid UTF-8.
func NormalizeBody(body string) (string, error) {
	if !utf8.ValidString(body) {
		return "", Errorf(CodeInvalid, "body: must be valid UTF-8")
	}
	body = strings.TrimSpace(body)
	if body == "" {
		return "", Errorf(CodeInvalid, "body: must not be empty")
	}
	if utf8.RuneCountInString(body) > BodyMaxLen {
		return "", Errorf(CodeInvalid, "body: must be at most %d characters", BodyMaxLen)
	}
	return body, nil
}

// NormalizeRoomName trims a room name and checks it is 1–64 characters.
func NormalizeRoomName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", Errorf(CodeInvalid, "name: must be valid UTF-8")
	}
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > RoomNameMaxLen {
		return "", Errorf(CodeInvalid, "name: must be 1 to %d characters", RoomNameMaxLen)
	}
	return name, nil
}

// ValidateRole accepts the roles the product knows.
func ValidateRole(role string) error {
	if role != RoleAdmin && role != RoleAuditor {
		return Errorf(CodeInvalid, "roles: unknown role %q", role)
	}
	return nil
}
