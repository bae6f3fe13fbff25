package domain_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatlog/chat/domain"
)

// normalizeCase is one input of a Normalize function: the normalized
// output, or "" when the input must be rejected as invalid.
type normalizeCase struct {
	name, in, want string
}

func checkNormalize(t *testing.T, field string, normalize func(string) (string, error), cases []normalizeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := normalize(c.in)
			if c.want == "" {
				if domain.ErrorCode(err) != domain.CodeInvalid {
					t.Fatalf("got %q, %v; want invalid", got, err)
				}
				// Clients show the message: it must say which field is wrong.
				if !strings.HasPrefix(domain.ErrorMessage(err), field+":") {
					t.Errorf("message %q does not name %s", domain.ErrorMessage(err), field)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestNormalizeUsername(t *testing.T) {
	checkNormalize(t, "username", domain.NormalizeUsername, []normalizeCase{
		{"plain", "alice", "alice"},
		{"upper case is lowered", "Alice", "alice"},
		{"every allowed character", "A-Z_0.9", "a-z_0.9"},
		{"three characters", "abc", "abc"},
		{"thirty-two characters", strings.Repeat("a", 32), strings.Repeat("a", 32)},
		{"two characters", "ab", ""},
		{"thirty-three characters", strings.Repeat("a", 33), ""},
		{"empty", "", ""},
		{"a space", "al ice", ""},
		{"surrounding space is not trimmed", " alice", ""},
		{"punctuation", "alice!", ""},
		{"an at sign", "alice@example", ""},
		{"a slash", "al/ice", ""},
		{"a non-ASCII letter", "ålice", ""},
		{"a look-alike Cyrillic a", "\u0430lice", ""},
		{"invalid UTF-8", "al\xffice", ""},
		{"a NUL byte", "ali\x00ce", ""},
	})
}

func TestNormalizeBody(t *testing.T) {
	checkNormalize(t, "body", domain.NormalizeBody, []normalizeCase{
		{"plain", "hello", "hello"},
		{"surrounding white space is trimmed", " \t\r\nhello\n ", "hello"},
		{"Unicode spaces are trimmed", "\u00a0hello\u3000", "hello"},
		{"inner white space is kept", "a  b\nc", "a  b\nc"},
		{"4000 characters", strings.Repeat("a", 4000), strings.Repeat("a", 4000)},
		{"4000 two-byte characters", strings.Repeat("é", 4000), strings.Repeat("é", 4000)},
		{"4000 emoji", strings.Repeat("🙂", 4000), strings.Repeat("🙂", 4000)},
		{"4000 characters within white space", "  " + strings.Repeat("a", 4000) + "\n", strings.Repeat("a", 4000)},
		{"4001 characters", strings.Repeat("a", 4001), ""},
		{"4001 two-byte characters", strings.Repeat("é", 4001), ""},
		{"empty", "", ""},
		{"only white space", " \t\n\u00a0", ""},
		{"invalid UTF-8", "caf\xe9", ""},
		{"a lone continuation byte", "a\x80", ""},
		{"an encoded surrogate", "\xed\xa0\x80", ""},
	})
}

func TestNormalizeRoomName(t *testing.T) {
	checkNormalize(t, "name", domain.NormalizeRoomName, []normalizeCase{
		{"plain", "Lobby", "Lobby"},
		{"case is kept", "The Den", "The Den"},
		{"trimmed", "  lobby\t", "lobby"},
		{"one character", "x", "x"},
		{"64 characters", strings.Repeat("ß", 64), strings.Repeat("ß", 64)},
		{"65 characters", strings.Repeat("ß", 65), ""},
		{"empty", "", ""},
		{"only white space", "   ", ""},
		{"invalid UTF-8", "lob\xffby", ""},
	})
}

func TestValidatePassword(t *testing.T) {
	cases := []struct {
		name string
		pw   string
		ok   bool
	}{
		{"eight characters", "abcdefgh", true},
		{"eight non-ASCII characters", "pässwört", true},
		{"256 characters", strings.Repeat("a", 256), true},
		{"seven characters", "abcdefg", false},
		{"eight bytes but four characters", "ääää", false},
		{"257 characters", strings.Repeat("a", 257), false},
		{"invalid UTF-8", "abcdefg\xff", false},
	}
	for _, c := range cases {
		err := domain.ValidatePassword(c.pw)
		if c.ok && err != nil || !c.ok && domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("%s: ValidatePassword = %v, want ok %v", c.name, err, c.ok)
		}
	}
}

func TestValidateRole(t *testing.T) {
	for _, role := range []string{domain.RoleAdmin, domain.RoleAuditor} {
		if err := domain.ValidateRole(role); err != nil {
			t.Errorf("ValidateRole(%q) = %v", role, err)
		}
	}
	for _, role := range []string{"", "Admin", "owner", "admin "} {
		if domain.ErrorCode(domain.ValidateRole(role)) != domain.CodeInvalid {
			t.Errorf("ValidateRole(%q) accepted", role)
		}
	}
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9_.-]{3,32}$`)

func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{"alice", "Alice", "a-b_c.d", "ab", strings.Repeat("z", 33), "ålice", "\u212Aelvin", "al\xffice", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := domain.NormalizeUsername(in)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid {
				t.Fatalf("NormalizeUsername(%q): code %q", in, domain.ErrorCode(err))
			}
			if usernamePattern.MatchString(in) {
				t.Fatalf("NormalizeUsername(%q) rejected a valid name: %v", in, err)
			}
			return
		}
		if !usernamePattern.MatchString(out) {
			t.Fatalf("NormalizeUsername(%q) = %q, outside [a-z0-9_.-]{3,32}", in, out)
		}
		if !strings.EqualFold(in, out) {
			t.Fatalf("NormalizeUsername(%q) = %q, not the same name up to case", in, out)
		}
		if again, err := domain.NormalizeUsername(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q → %q, %v", in, out, again, err)
		}
	})
}

func FuzzNormalizeBody(f *testing.F) {
	for _, s := range []string{"hello", "  hi  ", "", " \t\n", "caf\xe9", "\u00a0x\u3000", strings.Repeat("🙂", 4001), "a\u0300"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := domain.NormalizeBody(in)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid {
				t.Fatalf("NormalizeBody(%q): code %q", in, domain.ErrorCode(err))
			}
			trimmed := strings.TrimSpace(in)
			if utf8.ValidString(in) && trimmed != "" && utf8.RuneCountInString(trimmed) <= domain.BodyMaxLen {
				t.Fatalf("NormalizeBody(%q) rejected a valid body: %v", in, err)
			}
			return
		}
		if !utf8.ValidString(out) {
			t.Fatalf("NormalizeBody(%q) = %q, invalid UTF-8", in, out)
		}
		if n := utf8.RuneCountInString(out); n < 1 || n > domain.BodyMaxLen {
			t.Fatalf("NormalizeBody(%q) has %d characters", in, n)
		}
		if out != strings.TrimSpace(out) || !strings.Contains(in, out) {
			t.Fatalf("NormalizeBody(%q) = %q, not the trimmed input", in, out)
		}
		if again, err := domain.NormalizeBody(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q → %q, %v", in, out, again, err)
		}
	})
}
