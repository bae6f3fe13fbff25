package ws

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// FuzzDecodeFrame checks the hand-written decoder against encoding/json:
// it never panics, refuses what is not a JSON object, and when it accepts
// a frame its type, ref and room are what encoding/json reads.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"ping"}`,
		`{"type":"subscribe","room":"0192f3a4-5b6c-7d8e-9f00-112233445566","after":12,"ref":"a"}`,
		`{"type":"send","room":"0192f3a4-5b6c-7d8e-9f00-112233445566","client_id":"0192f3a4-5b6c-7d8e-9f00-aabbccddeeff","body":"hi \u00e9\n"}`,
		`{"type":"read","room":"0192f3a4-5b6c-7d8e-9f00-112233445566","seq":9223372036854775807}`,
		`{"ty\u0070e":"ping","x":[1,{"y":"}"}],"ref":null}`,
		`[]`, `"x"`, `{"type":1}`, `{"after":-1}`, `{"after":1e3}`, ` {"type" : "typing" } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		var fr clientFrame
		err := decodeFrame(p, &fr)
		if !utf8.Valid(p) {
			return // the reader closes with 1007 before decoding
		}
		var raw map[string]json.RawMessage
		jsonErr := json.Unmarshal(p, &raw)
		if jsonErr != nil || raw == nil {
			if err == nil {
				t.Fatalf("accepted %q, which is not a JSON object", p)
			}
			return
		}
		if domain.ErrorCode(err) != "" && domain.ErrorCode(err) != domain.CodeInvalid {
			t.Fatalf("error %v is not invalid", err)
		}
		if err != nil {
			return
		}
		// encoding/json is case-insensitive on keys; compare exact keys.
		exact := map[string]json.RawMessage{}
		if err := json.Unmarshal(p, &exactKeys{exact}); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		var typ string
		if err := json.Unmarshal(exact["type"], &typ); err != nil || typ != string(fr.typeName) {
			t.Fatalf("type %q, encoding/json says %q (%v)", fr.typeName, typ, err)
		}
		if r, ok := exact["ref"]; ok && string(r) != "null" {
			var ref string
			if err := json.Unmarshal(r, &ref); err != nil || ref != string(fr.ref) || utf8.RuneCountInString(ref) > maxRefLen {
				t.Fatalf("ref %q, encoding/json says %q (%v)", fr.ref, ref, err)
			}
		}
		if r, ok := exact["room"]; ok && string(r) != "null" {
			var room uuid.UUID
			if err := json.Unmarshal(r, &room); err != nil || room != fr.room {
				t.Fatalf("room %v, encoding/json says %v (%v)", fr.room, room, err)
			}
		}
	})
}

// exactKeys decodes a JSON object keeping every key as written (the last
// of duplicates wins, as in decodeFrame).
type exactKeys struct{ m map[string]json.RawMessage }

func (e *exactKeys) UnmarshalJSON(p []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(p)))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		e.m[k.(string)] = v
	}
	return nil
}

// FuzzValidateCommand builds frames from fields and checks what validation
// lets through to domain: required fields present, bodies trimmed, valid
// UTF-8 and 1–4000 characters.
func FuzzValidateCommand(f *testing.F) {
	f.Add("send", "0192f3a4-5b6c-7d8e-9f00-112233445566", "0192f3a4-5b6c-7d8e-9f00-aabbccddeeff", " hello ", int64(0), true)
	f.Add("edit", "0192f3a4-5b6c-7d8e-9f00-112233445566", "x", "", int64(3), false)
	f.Add("read", "0192f3a4-5b6c-7d8e-9f00-112233445566", "", "", int64(-4), true)
	f.Add("typing", "", "", "\xff", int64(1), true)
	f.Fuzz(func(t *testing.T, typ, room, id, body string, seq int64, withBody bool) {
		m := map[string]any{"type": typ, "room": room, "id": id, "client_id": id, "seq": seq}
		if withBody {
			m["body"] = body
		}
		p, err := json.Marshal(m)
		if err != nil {
			t.Skip("not encodable")
		}
		var fr clientFrame
		if err := decodeFrame(p, &fr); err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid {
				t.Fatalf("decode error %v is not invalid", err)
			}
			return
		}
		norm, err := fr.validate()
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid {
				t.Fatalf("validate error %v is not invalid", err)
			}
			return
		}
		if fr.typ == ftUnknown {
			t.Fatalf("type %q accepted", typ)
		}
		if fr.typ != ftPing && (!fr.hasRoom || fr.room.String() != strings.ToLower(room)) {
			t.Fatalf("room %q accepted as %v", room, fr.room)
		}
		if fr.typ == ftRead && seq < 0 {
			t.Fatalf("negative seq %d accepted", seq)
		}
		if fr.typ == ftSend || fr.typ == ftEdit {
			n := utf8.RuneCountInString(norm)
			if !withBody || n == 0 || n > domain.BodyMaxLen || !utf8.ValidString(norm) || norm != strings.TrimSpace(norm) {
				t.Fatalf("body %q accepted as %q", body, norm)
			}
		}
	})
}
