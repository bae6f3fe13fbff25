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
	// same stream is suspect too, since its chain hangs on this one. A seal
	// whose tree does not match the streams is reported as Bad too.
	Bad *BadEvent
	// Seal is the latest seal, checked against the streams (nil: the log
	// holds no seal yet).
	Seal *SealCheck
}

// BadEvent names an event that fails verification and why.
type BadEvent struct {
	Stream  string
	Version int64
	Reason  string
}

// SealCheck is what the latest seal said and whether the log agrees.
type SealCheck struct {
	Version int64 // the seal's version in the seals stream
	Streams int64 // streams it commits to
	OK      bool
}

// verifyPage is how many events Verify reads per query.
const verifyPage = 1000

// ChainVerifier checks events fed to it in commit order: every stream's
// hash chain, and the latest seal (when given) against the stream tips at
// its UpTo. Verify feeds it from a store; an export can feed it offline.
type ChainVerifier struct {
	rep     VerifyReport
	seal    *domain.LogSealed
	tips    map[string]Head // every stream's verified tip, seals included
	sealed  Tips            // tips as seals count them
	checked bool
}

// NewChainVerifier returns a verifier; seal is the log's latest seal, with
// its version in the seals stream, or nil.
func NewChainVerifier(seal *domain.LogSealed, sealVersion int64) *ChainVerifier {
	v := &ChainVerifier{seal: seal, tips: map[string]Head{}, sealed: Tips{}}
	if seal != nil {
		v.rep.Seal = &SealCheck{Version: sealVersion, Streams: seal.Streams}
	}
	return v
}

// Anchor trusts that stream stands at version with hash, for checking a
// partial log (a filtered export) from the middle of a chain.
func (v *ChainVerifier) Anchor(stream string, version int64, hash []byte) {
	v.tips[stream] = Head{Version: version, Hash: hash}
	v.rep.Streams++
}

// Feed checks the next event; it returns false once a bad event was found.
func (v *ChainVerifier) Feed(e *domain.Event) bool {
	if v.rep.Bad != nil {
		return false
	}
	if v.seal != nil && !v.checked && v.seal.UpTo.Less(e.Cursor()) {
		v.checkSeal()
		if v.rep.Bad != nil {
			return false
		}
	}
	t, seen := v.tips[e.Stream]
	if !seen {
		t = Head{Hash: domain.ZeroHash}
		v.rep.Streams++
	}
	v.rep.Events++
	reason := ""
	switch {
	case e.Version != t.Version+1:
		reason = fmt.Sprintf("version follows %d", t.Version)
	case !bytes.Equal(e.PrevHash, t.Hash):
		reason = "prev_hash is not the previous event's hash"
	case !e.VerifyHash(t.Hash):
		reason = "hash does not match the recorded fields"
	}
	if reason != "" {
		v.rep.Bad = &BadEvent{Stream: e.Stream, Version: e.Version, Reason: reason}
		return false
	}
	v.tips[e.Stream] = Head{Version: e.Version, Hash: e.Hash}
	v.sealed.observe(e)
	return true
}

// Report finishes the checks (the seal, if its UpTo is the log's end) and
// returns the outcome.
func (v *ChainVerifier) Report() VerifyReport {
	if v.rep.Bad == nil && v.seal != nil && !v.checked {
		v.checkSeal()
	}
	return v.rep
}

func (v *ChainVerifier) checkSeal() {
	v.checked = true
	root, err := v.sealed.TreeHash()
	if err == nil && root == v.seal.TreeHash && int64(len(v.sealed)) == v.seal.Streams {
		v.rep.Seal.OK = true
		return
	}
	v.rep.Bad = &BadEvent{Stream: domain.SealStream, Version: v.rep.Seal.Version,
		Reason: fmt.Sprintf("the seal commits to %d streams up to %s, the log holds %d that differ: a stream was removed or rewound",
			v.seal.Streams, v.seal.UpTo, len(v.sealed))}
}

// Verify reads the whole log in commit order and recomputes every stream's
// hash chain, then checks the latest seal against the stream heads it
// covers. It stops at the first bad event.
func Verify(ctx context.Context, r Reader) (VerifyReport, error) {
	seal, version, err := LatestSeal(ctx, r)
	if err != nil {
		return VerifyReport{}, err
	}
	v := NewChainVerifier(seal, version)
	var after, last domain.Cursor // last: the last event accepted
	for done := false; !done; {
		events, err := r.ReadAll(ctx, after, verifyPage)
		if err != nil {
			return v.rep, fmt.Errorf("verify: read after %s: %w", after, err)
		}
		for i := range events {
			if !v.Feed(&events[i]) {
				done = true
				break
			}
			last = events[i].Cursor()
		}
		if len(events) < verifyPage {
			done = true
		} else {
			after = events[len(events)-1].Cursor()
		}
	}
	rep := v.Report()
	if rep.Bad != nil && rep.Seal != nil && !rep.Seal.OK {
		if err := nameSuspects(ctx, r, v.tips, last, rep.Bad); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// LatestSeal returns the last LogSealed of the log and its version, or nil.
func LatestSeal(ctx context.Context, r Reader) (*domain.LogSealed, int64, error) {
	heads, err := r.Heads(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: heads: %w", err)
	}
	head, ok := heads[domain.SealStream]
	if !ok || head.Version == 0 {
		return nil, 0, nil
	}
	events, err := r.ReadStream(ctx, domain.SealStream, head.Version-1, 1)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: read the latest seal: %w", err)
	}
	if len(events) == 0 {
		return nil, 0, fmt.Errorf("verify: the seals stream's head %d has no event", head.Version)
	}
	p, err := events[0].Decode()
	if err != nil {
		return nil, 0, fmt.Errorf("verify: decode seal %d: %w", head.Version, err)
	}
	seal, ok := p.(*domain.LogSealed)
	if !ok {
		return nil, 0, fmt.Errorf("verify: seals stream holds a %s", events[0].Type)
	}
	return seal, head.Version, nil
}
