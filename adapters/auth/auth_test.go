package auth

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(h), "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected hash format %q", h)
	}
	if ok, err := CheckPassword(h, "correct horse battery"); !ok || err != nil {
		t.Fatalf("right password refused: %v %v", ok, err)
	}
	if ok, _ := CheckPassword(h, "correct horse batterx"); ok {
		t.Fatal("wrong password accepted")
	}
	if ok, _ := CheckPassword(nil, "anything"); ok {
		t.Fatal("unknown user accepted")
	}
	if _, err := CheckPassword([]byte("$md5$x"), "x"); err == nil {
		t.Fatal("malformed hash accepted")
	}
	h2, _ := HashPassword("correct horse battery")
	if string(h) == string(h2) {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
}

func TestUnknownUserTakesAsLongAsWrongPassword(t *testing.T) {
	h, _ := HashPassword("correct horse battery")
	measure := func(hash []byte) time.Duration {
		start := time.Now()
		for range 3 {
			_, _ = CheckPassword(hash, "wrong password")
		}
		return time.Since(start)
	}
	known, unknown := measure(h), measure(nil)
	// Both run one full argon2id derivation; allow generous noise.
	if unknown < known/3 || unknown > known*3 {
		t.Fatalf("unknown user %v vs wrong password %v: timing differs", unknown, known)
	}
}

func TestTokens(t *testing.T) {
	a, ha, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := NewToken()
	if a == b || len(a) < 43 {
		t.Fatalf("weak tokens %q %q", a, b)
	}
	if string(HashToken(a)) != string(ha) {
		t.Fatal("hash of token differs from the one returned")
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(time.Second, 3)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.Allow("ana"); !ok {
			t.Fatalf("attempt %d refused within burst", i+1)
		}
	}
	ok, wait := l.Allow("ana")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("4th attempt: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allow("bob"); !ok {
		t.Fatal("other key limited")
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow("ana"); !ok {
		t.Fatal("not refilled after the interval")
	}
}
