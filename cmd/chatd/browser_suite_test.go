package main

import (
	"context"
	"sync"
	"testing"
)

// browserConcurrency is how many scenarios run at once. They mostly wait
// (on the network, timers, the page), so side by side they take a fraction
// of the time; more than this starves two cores.
const browserConcurrency = 3

// TestBrowser runs the browser client against a real chatd in both modes.
// One chromium serves every scenario (starting it costs more than most
// scenarios do); each scenario gets its own deployment and browser contexts.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests need a minute; not with -short")
	}
	browser := newBrowser(t)
	scenarios := []struct {
		name string
		run  func(t *testing.T, browser context.Context, d deployment)
	}{
		// The longest first.
		{"chat", browserTwoUsersChat},
		{"restart", browserSurvivesRestart},
		{"signup", browserSignupApproval},
		{"inert", browserMessagesAreInert},
		{"phone", browserPhoneLayout},
		{"history", browserSearchAndPaging},
	}
	// Goroutines rather than t.Parallel, whose limit (-parallel) is the
	// number of cores: too few for tests that mostly wait.
	var wg sync.WaitGroup
	slots := make(chan struct{}, browserConcurrency)
	for _, sc := range scenarios {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			t.Run(sc.name, func(t *testing.T) {
				eachMode(t, func(t *testing.T, d deployment) { sc.run(t, browser, d) })
			})
		})
	}
	wg.Wait()
}
