package main

import (
	"errors"
	"net/http"
	"testing"

	gws "github.com/gobwas/ws"
)

// TestWSSessionEnd: logging out closes that session's sockets with 4001
// and no other; deactivating a user closes all their sockets with 4003.
// In production the sockets sit on two nodes and the request goes to
// either, so the close crosses nodes.
func TestWSSessionEnd(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, d deployment) {
		a := d.start(t)
		b := a
		if d.name == "production" {
			b = d.start(t)
		}
		admin := a.admin()
		_, first := a.user(admin, "alice")
		second := a.login("alice", "alice-password")
		bobID, bob := a.user(admin, "bob")
		bobOther := b.login("bob", "bob-password")

		onA, onB, kept := a.ws(first), b.ws(first), b.ws(second)
		a.must(http.StatusNoContent, "POST", "/api/logout", first, nil)
		onA.expectClose(4001)
		onB.expectClose(4001)
		kept.sync()

		bobs := []*wsClient{a.ws(bob), b.ws(bob), b.ws(bobOther)}
		b.must(http.StatusOK, "POST", "/api/admin/users/"+bobID+"/deactivate", admin, nil)
		for _, c := range bobs {
			c.expectClose(4003)
		}
		kept.sync()
		if _, _, err := wsDial(t.Context(), a.URL, bob); err == nil {
			t.Error("a deactivated user's token opened a socket")
		}
		_, _, err := wsDial(t.Context(), b.URL, first)
		var status gws.StatusError
		if !errors.As(err, &status) || status != http.StatusUnauthorized {
			t.Errorf("a logged-out token's handshake: %v, want 401", err)
		}
	})
}
