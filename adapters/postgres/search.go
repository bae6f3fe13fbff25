package postgres

import (
	"encoding/binary"
	"iter"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
)

// Message search vectors are made here rather than by PostgreSQL's
// to_tsvector: parsing text in the server cost about 3 µs of its CPU per
// message, a third of what a history rebuild asks of it, on the one
// connection every row of a rebuild goes through. The words are what the
// embedded store's FTS5 unicode61 tokenizer finds (runs of letters, digits
// and marks, lower-cased), so both modes match the same words; a query is
// split the same way and cast to tsquery without the server parsing it.

// The limits of a tsvector (PostgreSQL's ts_type.h): longer words are left
// out, as to_tsvector does; later positions count as the last one.
const (
	maxLexemeBytes    = 1<<11 - 1
	maxLexemePosition = 1<<14 - 1
	maxPositions      = 256
)

// token is a word of a text and its position there (from 1).
type token struct {
	word     string
	position uint16
}

// tokenizer keeps its scratch between texts, so that a writer making the
// vectors of many rows allocates once.
type tokenizer struct{ tokens []token }

// lexemes returns text's words in the order a tsvector keeps them (by
// bytes, shorter first), each word's positions following it, rising and
// within tsvector's limits. The result is valid until the next call.
func (z *tokenizer) lexemes(text string) []token {
	t := appendTokens(z.tokens[:0], text)
	z.tokens = t
	slices.SortStableFunc(t, func(a, b token) int { return strings.Compare(a.word, b.word) })
	kept, run := 0, 0
	for _, tok := range t {
		if kept > 0 && tok.word == t[kept-1].word {
			if run == maxPositions || tok.position == t[kept-1].position {
				continue // past the limit, or clamped onto the last position
			}
			run++
		} else {
			run = 1
		}
		t[kept] = tok
		kept++
	}
	return t[:kept]
}

// appendTokens appends text's words, lower-cased and numbered from 1,
// leaving out those too long for a tsvector (they keep their number).
func appendTokens(tokens []token, text string) []token {
	if tokens == nil {
		tokens = make([]token, 0, len(text)/4+1) // words and spaces run ~5 bytes
	}
	position := 0
	for start := 0; start < len(text); {
		size := wordRuneSize(text[start:])
		if size < 0 {
			start -= size
			continue
		}
		end := start + size
		for end < len(text) {
			size := wordRuneSize(text[end:])
			if size < 0 {
				break
			}
			end += size
		}
		position++
		if word := lowerWord(text[start:end]); len(word) <= maxLexemeBytes {
			tokens = append(tokens, token{word: word, position: uint16(min(position, maxLexemePosition))})
		}
		start = end
	}
	return tokens
}

// wordRuneSize returns the size of the rune s starts with, negated when
// it is not part of words.
func wordRuneSize(s string) int {
	if c := s[0]; c < utf8.RuneSelf {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			return 1
		}
		return -1
	}
	r, size := utf8.DecodeRuneInString(s)
	if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)) {
		return size
	}
	return -size
}

// lowerWord lower-cases w, without allocating when it already is (most
// words of a chat).
func lowerWord(w string) string {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return strings.ToLower(w)
		}
	}
	return w
}

// runs yields lexemes (as lexemes returns them) one word at a time: the
// run of that word's tokens, positions rising.
func runs(lexemes []token) iter.Seq[[]token] {
	return func(yield func([]token) bool) {
		for i := 0; i < len(lexemes); {
			n := 1
			for i+n < len(lexemes) && lexemes[i+n].word == lexemes[i].word {
				n++
			}
			if !yield(lexemes[i : i+n]) {
				return
			}
			i += n
		}
	}
}

func distinctWords(lexemes []token) int {
	n := 0
	for range runs(lexemes) {
		n++
	}
	return n
}

// appendTSVector appends a tsvector in its binary form: the lexeme count,
// then each lexeme NUL-terminated with its positions.
func appendTSVector(buf []byte, lexemes []token) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(distinctWords(lexemes)))
	for run := range runs(lexemes) {
		buf = append(buf, run[0].word...)
		buf = append(buf, 0)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(run)))
		for _, l := range run {
			buf = binary.BigEndian.AppendUint16(buf, l.position)
		}
	}
	return buf
}

// searchVector is a body sent as its search vector (a tsvector
// parameter).
type searchVector string

func (s searchVector) TSVectorValue() (pgtype.TSVector, error) {
	var z tokenizer
	lexemes := z.lexemes(string(s))
	v := pgtype.TSVector{Lexemes: make([]pgtype.TSVectorLexeme, 0, distinctWords(lexemes)), Valid: true}
	positions := make([]pgtype.TSVectorPosition, len(lexemes))
	for i, l := range lexemes {
		positions[i] = pgtype.TSVectorPosition{Position: l.position}
	}
	at := 0
	for run := range runs(lexemes) {
		v.Lexemes = append(v.Lexemes, pgtype.TSVectorLexeme{Word: run[0].word, Positions: positions[at : at+len(run)]})
		at += len(run)
	}
	return v, nil
}

// searchQuery returns the tsquery matching texts with every word of q,
// and false when q has no words (which matches nothing).
func searchQuery(q string) (string, bool) {
	var z tokenizer
	var b strings.Builder
	for run := range runs(z.lexemes(q)) {
		if b.Len() > 0 {
			b.WriteString(" & ")
		}
		// Words hold no quote or backslash (wordRuneSize), so quoting is
		// enough to keep tsquery's syntax out of them.
		b.WriteByte('\'')
		b.WriteString(run[0].word)
		b.WriteByte('\'')
	}
	return b.String(), b.Len() > 0
}
