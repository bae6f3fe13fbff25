package domain_test

import (
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
)

func TestRegisterUser(t *testing.T) {
	check(t, []rule{
		{name: "the first account becomes an approved admin",
			when: domain.RegisterUser{UserID: id("root"), Username: "root"},
			then: []domain.Payload{registered("root"),
				&domain.UserApproved{UserID: id("root")},
				&domain.RoleGranted{UserID: id("root"), Role: domain.RoleAdmin}}},
		{name: "a later account waits for approval",
			given: admin("root"),
			when:  domain.RegisterUser{UserID: id("alice"), Username: "alice"},
			then:  []domain.Payload{registered("alice")}},
		{name: "the first account counts even when it was rejected",
			given: rejected("early"),
			when:  domain.RegisterUser{UserID: id("alice"), Username: "alice"},
			then:  []domain.Payload{registered("alice")}},
		{name: "a taken username is a conflict",
			given: world(),
			when:  domain.RegisterUser{UserID: id("alice 2"), Username: "alice"},
			code:  domain.CodeConflict},
		{name: "a rejected account keeps its username",
			given: world(),
			when:  domain.RegisterUser{UserID: id("rex 2"), Username: "rex"},
			code:  domain.CodeConflict},
	})
}

func TestCreateUser(t *testing.T) {
	check(t, []rule{
		{name: "the operator's tool needs no admin",
			when: domain.CreateUser{UserID: id("ops"), Username: "ops", Roles: []string{domain.RoleAdmin}},
			then: []domain.Payload{registered("ops"),
				&domain.UserApproved{UserID: id("ops")},
				&domain.RoleGranted{UserID: id("ops"), Role: domain.RoleAdmin}}},
		{name: "an admin creates an approved user with roles",
			given: world(),
			when: domain.CreateUser{By: ptr(id("root")), UserID: id("audrey"), Username: "audrey",
				Roles: []string{domain.RoleAuditor, domain.RoleAdmin}},
			then: []domain.Payload{registered("audrey"),
				&domain.UserApproved{UserID: id("audrey"), By: ptr(id("root"))},
				&domain.RoleGranted{UserID: id("audrey"), Role: domain.RoleAuditor, By: ptr(id("root"))},
				&domain.RoleGranted{UserID: id("audrey"), Role: domain.RoleAdmin, By: ptr(id("root"))}}},
		{name: "a user without roles gets none",
			given: world(),
			when:  domain.CreateUser{By: ptr(id("root")), UserID: id("eve"), Username: "eve"},
			then: []domain.Payload{registered("eve"),
				&domain.UserApproved{UserID: id("eve"), By: ptr(id("root"))}}},
		{name: "a non-admin is forbidden",
			given: world(),
			when:  domain.CreateUser{By: ptr(id("alice")), UserID: id("eve"), Username: "eve"},
			code:  domain.CodeForbidden},
		{name: "a deactivated admin is forbidden",
			given: with(world(), admin("old"), []domain.Payload{&domain.UserDeactivated{UserID: id("old")}}),
			when:  domain.CreateUser{By: ptr(id("old")), UserID: id("eve"), Username: "eve"},
			code:  domain.CodeForbidden},
		{name: "an unknown actor is unauthorized",
			given: world(),
			when:  domain.CreateUser{By: ptr(id("ghost")), UserID: id("eve"), Username: "eve"},
			code:  domain.CodeUnauthorized},
		{name: "an unknown role is invalid",
			given: world(),
			when:  domain.CreateUser{By: ptr(id("root")), UserID: id("eve"), Username: "eve", Roles: []string{"owner"}},
			code:  domain.CodeInvalid},
		{name: "a taken username is a conflict",
			given: world(),
			when:  domain.CreateUser{UserID: id("bob 2"), Username: "bob"},
			code:  domain.CodeConflict},
	})
}

func TestChangeStatus(t *testing.T) {
	root := ptr(id("root"))
	check(t, []rule{
		{name: "an admin approves a pending user",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("pat"), To: domain.Approve},
			then:  []domain.Payload{&domain.UserApproved{UserID: id("pat"), By: root}}},
		{name: "an admin rejects a pending user",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("pat"), To: domain.Reject},
			then:  []domain.Payload{&domain.UserRejected{UserID: id("pat"), By: root}}},
		{name: "the operator's tool approves",
			given: world(),
			when:  domain.ChangeStatus{UserID: id("pat"), To: domain.Approve},
			then:  []domain.Payload{&domain.UserApproved{UserID: id("pat")}}},
		{name: "approving an approved user is a conflict",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("alice"), To: domain.Approve},
			code:  domain.CodeConflict},
		{name: "approving a rejected user is a conflict",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("rex"), To: domain.Approve},
			code:  domain.CodeConflict},
		{name: "approving a deactivated user is a conflict",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("dee"), To: domain.Approve},
			code:  domain.CodeConflict},
		{name: "rejecting an approved user is a conflict",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("alice"), To: domain.Reject},
			code:  domain.CodeConflict},
		{name: "an unknown user is not found",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("ghost"), To: domain.Approve},
			code:  domain.CodeNotFound},
		{name: "a non-admin is forbidden",
			given: world(),
			when:  domain.ChangeStatus{By: ptr(id("alice")), UserID: id("pat"), To: domain.Approve},
			code:  domain.CodeForbidden},
		{name: "a pending user cannot act",
			given: world(),
			when:  domain.ChangeStatus{By: ptr(id("pat")), UserID: id("pat"), To: domain.Approve},
			code:  domain.CodeForbidden},
		{name: "deactivating ends every open session",
			given: with(world(), []domain.Payload{session("alice", "s1"), session("alice", "s2"),
				session("alice", "s3"), &domain.SessionEnded{SessionID: id("s2"), UserID: id("alice"), Reason: "logout"},
				session("bob", "s4")}),
			when: domain.ChangeStatus{By: root, UserID: id("alice"), To: domain.Deactivate},
			then: []domain.Payload{&domain.UserDeactivated{UserID: id("alice"), By: root},
				&domain.SessionEnded{SessionID: id("s1"), UserID: id("alice"), Reason: "deactivated"},
				&domain.SessionEnded{SessionID: id("s3"), UserID: id("alice"), Reason: "deactivated"}}},
		{name: "deactivating a user without sessions",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("bob"), To: domain.Deactivate},
			then:  []domain.Payload{&domain.UserDeactivated{UserID: id("bob"), By: root}}},
		{name: "a pending user can be deactivated",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("pat"), To: domain.Deactivate},
			then:  []domain.Payload{&domain.UserDeactivated{UserID: id("pat"), By: root}}},
		{name: "deactivating twice is a conflict",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("dee"), To: domain.Deactivate},
			code:  domain.CodeConflict},
		{name: "an admin cannot deactivate themselves",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("root"), To: domain.Deactivate},
			code:  domain.CodeConflict},
		{name: "an unknown transition is invalid",
			given: world(),
			when:  domain.ChangeStatus{By: root, UserID: id("pat"), To: "promote"},
			code:  domain.CodeInvalid},
	})
}

func TestGrantRole(t *testing.T) {
	root := ptr(id("root"))
	check(t, []rule{
		{name: "an admin grants a role",
			given: world(),
			when:  domain.GrantRole{By: root, UserID: id("alice"), Role: domain.RoleAuditor},
			then:  []domain.Payload{&domain.RoleGranted{UserID: id("alice"), Role: domain.RoleAuditor, By: root}}},
		{name: "granting a held role changes nothing",
			given: with(world(), []domain.Payload{&domain.RoleGranted{UserID: id("alice"), Role: domain.RoleAuditor}}),
			when:  domain.GrantRole{By: root, UserID: id("alice"), Role: domain.RoleAuditor}},
		{name: "an unknown role is invalid",
			given: world(),
			when:  domain.GrantRole{By: root, UserID: id("alice"), Role: "owner"},
			code:  domain.CodeInvalid},
		{name: "a non-admin is forbidden",
			given: world(),
			when:  domain.GrantRole{By: ptr(id("alice")), UserID: id("alice"), Role: domain.RoleAdmin},
			code:  domain.CodeForbidden},
		{name: "an unknown user is not found",
			given: world(),
			when:  domain.GrantRole{By: root, UserID: id("ghost"), Role: domain.RoleAuditor},
			code:  domain.CodeNotFound},
	})
}

func TestSessions(t *testing.T) {
	// Expiry is stored as the protocol's times are: UTC, whole milliseconds.
	expires := time.Date(2025, 3, 5, 6, 7, 8, 123456789, time.FixedZone("CET", 3600))
	start := func(user string) domain.StartSession {
		return domain.StartSession{UserID: id(user), SessionID: id("s9"), TokenHash: []byte("h"), ExpiresAt: expires}
	}
	check(t, []rule{
		{name: "an approved user logs in",
			given: world(),
			when:  start("alice"),
			then: []domain.Payload{&domain.SessionStarted{SessionID: id("s9"), UserID: id("alice"),
				ExpiresAt: time.Date(2025, 3, 5, 5, 7, 8, 123000000, time.UTC)}}},
		{name: "a pending user waits for approval",
			given: world(), when: start("pat"), code: domain.CodePendingApproval},
		{name: "a rejected user is rejected",
			given: world(), when: start("rex"), code: domain.CodeRejected},
		{name: "a deactivated user is rejected",
			given: world(), when: start("dee"), code: domain.CodeRejected},
		{name: "an unknown user is unauthorized",
			given: world(), when: start("ghost"), code: domain.CodeUnauthorized},
		{name: "logging out ends the session",
			given: with(world(), []domain.Payload{session("alice", "s1"), session("alice", "s2")}),
			when:  domain.EndSession{UserID: id("alice"), SessionID: id("s2"), Reason: "logout"},
			then:  []domain.Payload{&domain.SessionEnded{SessionID: id("s2"), UserID: id("alice"), Reason: "logout"}}},
		{name: "ending an unknown session changes nothing",
			given: with(world(), []domain.Payload{session("alice", "s1")}),
			when:  domain.EndSession{UserID: id("alice"), SessionID: id("nope"), Reason: "logout"}},
		{name: "ending an ended session changes nothing",
			given: with(world(), []domain.Payload{session("alice", "s1"),
				&domain.SessionEnded{SessionID: id("s1"), UserID: id("alice"), Reason: "logout"}}),
			when: domain.EndSession{UserID: id("alice"), SessionID: id("s1"), Reason: "logout"}},
		{name: "a session of another user is not ended",
			given: with(world(), []domain.Payload{session("bob", "s1")}),
			when:  domain.EndSession{UserID: id("alice"), SessionID: id("s1"), Reason: "logout"}},
		{name: "deactivation leaves no session to end",
			given: with(world(), []domain.Payload{session("alice", "s1"),
				&domain.UserDeactivated{UserID: id("alice")},
				&domain.SessionEnded{SessionID: id("s1"), UserID: id("alice"), Reason: "deactivated"}}),
			when: domain.EndSession{UserID: id("alice"), SessionID: id("s1"), Reason: "logout"}},
	})
}

func TestPresenceAndNodes(t *testing.T) {
	check(t, []rule{
		{name: "a first socket connects",
			when: domain.Connect{UserID: id("alice"), Username: "alice", SessionID: id("s1"), Node: "n1", Online: true},
			then: []domain.Payload{&domain.UserConnected{UserID: id("alice"), Username: "alice", SessionID: id("s1"), Node: "n1"}}},
		{name: "a last socket disconnects",
			when: domain.Connect{UserID: id("alice"), Username: "alice", SessionID: id("s1"), Node: "n1"},
			then: []domain.Payload{&domain.UserDisconnected{UserID: id("alice"), Username: "alice", SessionID: id("s1"), Node: "n1"}}},
		{name: "a node starts",
			when: domain.StartNode{Node: "n1"},
			then: []domain.Payload{&domain.NodeStarted{Node: "n1"}}},
		{name: "a node stops",
			when: domain.StopNode{Node: "n1", Reason: "lease_expired"},
			then: []domain.Payload{&domain.NodeStopped{Node: "n1", Reason: "lease_expired"}}},
	})
}

// The secrets travel beside the events: log-in finds the password hash by
// username, and a session's token hash by its id.
func TestSecrets(t *testing.T) {
	reg := domain.RegisterUser{UserID: id("alice"), Username: "alice", PasswordHash: []byte("pw")}
	if got := reg.Secret(); got.Kind != domain.SecretPassword || got.UserID != id("alice") || got.Username != "alice" || string(got.Hash) != "pw" {
		t.Errorf("RegisterUser secret = %+v", got)
	}
	cu := domain.CreateUser{UserID: id("bob"), Username: "bob", PasswordHash: []byte("pw2")}
	if got := cu.Secret(); got.Kind != domain.SecretPassword || got.Username != "bob" || string(got.Hash) != "pw2" {
		t.Errorf("CreateUser secret = %+v", got)
	}
	exp := now.Add(time.Hour)
	ss := domain.StartSession{UserID: id("alice"), SessionID: id("s1"), TokenHash: []byte("tok"), ExpiresAt: exp}
	if got := ss.Secret(); got.Kind != domain.SecretSession || got.SessionID != id("s1") || string(got.Hash) != "tok" || !got.ExpiresAt.Equal(exp) {
		t.Errorf("StartSession secret = %+v", got)
	}
}
