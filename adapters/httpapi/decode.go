package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/chatlog/chat/domain"
)

// MaxBodyBytes is PROTOCOL.md's request body limit.
const MaxBodyBytes = 64 << 10

// decodeBody reads one JSON object into v, refusing unknown fields, wrong
// types, trailing data and bodies over the limit, with a message that names
// the field.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return decodeError(err)
		}
		return domain.Errorf(domain.CodeInvalid, "body: must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return domain.Errorf(domain.CodeTooLarge, "body: over %d bytes", MaxBodyBytes)
	case errors.Is(err, io.EOF):
		return domain.Errorf(domain.CodeInvalid, "body: empty; a JSON object is required")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Errorf(domain.CodeInvalid, "body: malformed JSON")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return domain.Errorf(domain.CodeInvalid, "%s: must be a %s", field, jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return domain.Errorf(domain.CodeInvalid, "%s: unknown field", name)
	}
	return domain.Errorf(domain.CodeInvalid, "body: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice", "array":
		return "list"
	case "struct", "map":
		return "object"
	case "bool":
		return "boolean"
	}
	return "number"
}

// required names a missing field in a bad_request error.
func required(field string) error {
	return domain.Errorf(domain.CodeInvalid, "%s: required", field)
}

// requireString reads a field that must be present; pointer fields tell
// absent from empty.
func requireString(field string, v *string) (string, error) {
	if v == nil {
		return "", required(field)
	}
	return *v, nil
}
