package eventstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/chatlog/chat/domain"
)

// maxSuspects bounds the streams a failed seal check names.
const maxSuspects = 5

// nameSuspects runs when the latest seal does not match the streams: the
// tree hash says that a stream was removed or rewound, not which one. A
// tamperer who deleted events but left the streams table alone leaves
// heads ahead of their events; this names those streams in the reason.
// from is the cursor of the last event Verify accepted; tips are the
// verified stream heads up to it.
func nameSuspects(ctx context.Context, r Reader, tips map[string]Head, from domain.Cursor, bad *BadEvent) error {
	// Heads first: events appended while the rest is read only move tips
	// further, so they do not make a stream look cut.
	heads, err := r.Heads(ctx)
	if err != nil {
		return fmt.Errorf("verify: heads: %w", err)
	}
	seen := make(map[string]int64, len(tips))
	for name, h := range tips {
		seen[name] = h.Version
	}
	for after := from; ; {
		events, err := r.ReadAll(ctx, after, verifyPage)
		if err != nil {
			return fmt.Errorf("verify: read after %s: %w", after, err)
		}
		for i := range events {
			seen[events[i].Stream] = max(seen[events[i].Stream], events[i].Version)
		}
		if len(events) < verifyPage {
			break
		}
		after = events[len(events)-1].Cursor()
	}
	var suspects []string
	for name, h := range heads {
		if name != domain.SealStream && seen[name] < h.Version {
			suspects = append(suspects, fmt.Sprintf("%s (head %d, events up to %d)", name, h.Version, seen[name]))
		}
	}
	if len(suspects) == 0 {
		return nil
	}
	slices.Sort(suspects)
	if len(suspects) > maxSuspects {
		suspects = append(suspects[:maxSuspects], fmt.Sprintf("%d more", len(suspects)-maxSuspects))
	}
	bad.Reason += "; streams whose recorded head is ahead of their events: " + strings.Join(suspects, ", ")
	return nil
}
