package main

import (
	"context"
	"testing"
)

// TestBrowser runs the browser client against a real chatd in both modes.
// One chromium serves every scenario (starting it costs more than most
// scenarios do); each scenario gets its own deployment and browser contexts.
func TestBrowser(t *testing.T) {
	browser := newBrowser(t)
	scenarios := []struct {
		name string
		run  func(t *testing.T, browser context.Context, d deployment)
	}{
		{"chat", browserTwoUsersChat},
		{"inert", browserMessagesAreInert},
		{"signup", browserSignupApproval},
		{"restart", browserSurvivesRestart},
		{"history", browserSearchAndPaging},
		{"phone", browserPhoneLayout},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			// The scenarios mostly wait (on the network, timers, the
			// page): side by side they take a fraction of the time.
			t.Parallel()
			eachMode(t, func(t *testing.T, d deployment) { sc.run(t, browser, d) })
		})
	}
}
