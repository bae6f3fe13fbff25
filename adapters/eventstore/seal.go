package eventstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"github.com/chatlog/chat/domain"
	"golang.org/x/mod/sumdb/tlog"
)

// Tips are the stream heads a seal commits to, by stream name.
type Tips map[string]Head

// observe moves the tip of e's stream; seals are not sealed themselves.
func (t Tips) observe(e *domain.Event) {
	if e.Stream != domain.SealStream {
		t[e.Stream] = Head{Version: e.Version, Hash: e.Hash}
	}
}

// TreeHash is the Merkle tree head (RFC 6962 hashing, as in Go's checksum
// database) over the tips sorted by stream name: one leaf per stream, its
// name, version and head hash. A removed stream or a rewound head changes
// it, even when every remaining hash chain is intact.
func (t Tips) TreeHash() (string, error) {
	names := make([]string, 0, len(t))
	for name := range t {
		names = append(names, name)
	}
	slices.Sort(names)
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, name := range names {
		h := t[name]
		leaf := []byte(name + "\x00" + strconv.FormatInt(h.Version, 10) + "\x00" + hex.EncodeToString(h.Hash))
		hashes, err := tlog.StoredHashes(int64(i), leaf, reader)
		if err != nil {
			return "", fmt.Errorf("seal tree leaf %d: %w", i, err)
		}
		stored = append(stored, hashes...)
	}
	root, err := tlog.TreeHash(int64(len(names)), reader)
	if err != nil {
		return "", fmt.Errorf("seal tree head: %w", err)
	}
	return hex.EncodeToString(root[:]), nil
}

// Sealer appends LogSealed events. It folds the log into tips as it goes,
// so each seal reads only what was committed since the last one. A Sealer
// is used by one goroutine at a time.
type Sealer struct {
	Store  *Store
	Reader Reader
	tips   Tips
	cursor domain.Cursor
	// changed: events other than seals were read since the last seal.
	changed bool
}

// Seal reads the log to its visible end and, if anything but seals was
// appended since the last seal, appends a new one. It returns the seal, or
// nil when there was nothing new.
func (s *Sealer) Seal(ctx context.Context) (*domain.LogSealed, error) {
	if s.tips == nil {
		s.tips = Tips{}
	}
	for {
		page, err := s.Reader.ReadAll(ctx, s.cursor, verifyPage)
		if err != nil {
			return nil, fmt.Errorf("seal: read after %s: %w", s.cursor, err)
		}
		for i := range page {
			if page[i].Stream != domain.SealStream {
				s.tips.observe(&page[i])
				s.changed = true
			}
		}
		if len(page) > 0 {
			s.cursor = page[len(page)-1].Cursor()
		}
		if len(page) < verifyPage {
			break
		}
	}
	if !s.changed {
		return nil, nil
	}
	root, err := s.tips.TreeHash()
	if err != nil {
		return nil, err
	}
	seal := &domain.LogSealed{Streams: int64(len(s.tips)), TreeHash: root, UpTo: s.cursor}
	_, err = s.Store.Append(ctx, domain.Metadata{Correlation: "seal"},
		domain.NewEvent{Stream: domain.SealStream, ExpectedVersion: domain.AnyVersion, Payload: seal})
	if err != nil {
		return nil, fmt.Errorf("append seal: %w", err)
	}
	s.changed = false
	return seal, nil
}
