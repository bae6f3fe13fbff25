package eventstore

import (
	"bytes"
	"context"
	"fmt"

	"github.com/chatlog/chat/domain"
)

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Events  int64 // events checked
	Streams int   // streams seen
	// Bad is the first event, in commit order, whose hash or chain link does
	// not hold (nil when the whole log verifies). Every later event of the
	// same stream is suspect too, since its chain hangs on this one.
	Bad *BadEvent
}

// BadEvent names an event that fails verification and why.
type BadEvent struct {
	Stream  string
	Version int64
	Reason  string
}

// verifyPage is how many events Verify reads per query.
const verifyPage = 1000

// Verify reads the whole log in commit order and recomputes every stream's
// hash chain: each event must follow its stream's previous version, link to
// its hash (ZeroHash for version 1) and hash to its stored hash. It stops at
// the first bad event. An error means the log could not be read, not that it
// is bad.
func Verify(ctx context.Context, r Reader) (VerifyReport, error) {
	var rep VerifyReport
	type tip struct {
		version int64
		hash    []byte
	}
	tips := map[string]tip{}
	var after domain.Cursor
	for {
		events, err := r.ReadAll(ctx, after, verifyPage)
		if err != nil {
			return rep, fmt.Errorf("verify: read after %s: %w", after, err)
		}
		for i := range events {
			e := &events[i]
			t, seen := tips[e.Stream]
			if !seen {
				t = tip{hash: domain.ZeroHash}
				rep.Streams++
			}
			rep.Events++
			reason := ""
			switch {
			case e.Version != t.version+1:
				reason = fmt.Sprintf("version follows %d", t.version)
			case !bytes.Equal(e.PrevHash, t.hash):
				reason = "prev_hash is not the previous event's hash"
			case !e.VerifyHash(t.hash):
				reason = "hash does not match the recorded fields"
			}
			if reason != "" {
				rep.Bad = &BadEvent{Stream: e.Stream, Version: e.Version, Reason: reason}
				return rep, nil
			}
			tips[e.Stream] = tip{version: e.Version, hash: e.Hash}
		}
		if len(events) < verifyPage {
			return rep, nil
		}
		after = events[len(events)-1].Cursor()
	}
}
