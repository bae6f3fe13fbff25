package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chatlog/chat/adapters/auth"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// operator is the metadata of chatctl's events: no user acted, the
// operator's tool did, and the log says so.
var operator = domain.Metadata{Correlation: "chatctl", ClientAddr: "chatctl"}

func (t *tool) users(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "list":
		return t.listUsers(ctx, args[1:])
	case "create":
		return t.createUser(ctx, args[1:])
	case "approve", "reject", "deactivate":
		if len(args) != 2 {
			return errUsage
		}
		return t.changeStatus(ctx, args[1], domain.Transition(args[0]))
	case "grant":
		if len(args) != 3 {
			return errUsage
		}
		return t.grant(ctx, args[1], args[2])
	}
	return errUsage
}

func (t *tool) listUsers(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("users list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	status := fs.String("status", "", "pending, approved, rejected or deactivated")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return errUsage
	}
	switch domain.UserStatus(*status) {
	case "", domain.StatusPending, domain.StatusApproved, domain.StatusRejected, domain.StatusDeactivated:
	default:
		return fmt.Errorf("--status: %q is not pending, approved, rejected or deactivated", *status)
	}
	if err := t.catchUp(ctx, "approval"); err != nil {
		return err
	}
	users, err := t.p.DB.Users(ctx, domain.UserStatus(*status))
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(t.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tUSERNAME\tSTATUS\tROLES\tCREATED")
	for _, u := range users {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Status, strings.Join(u.Roles, ","),
			projections.FormatTime(time.Time(u.CreatedAt)))
	}
	return w.Flush()
}

func (t *tool) createUser(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("users create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	roles := fs.String("roles", "", "comma-separated roles: admin, auditor")
	if len(args) == 0 {
		return errUsage
	}
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
		return errUsage
	}
	name, err := domain.NormalizeUsername(args[0])
	if err != nil {
		return err
	}
	password, err := t.password()
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	var roleList []string
	if *roles != "" {
		roleList = strings.Split(*roles, ",")
	}
	cmd := domain.CreateUser{UserID: uuid.Must(uuid.NewV7()), Username: name, PasswordHash: hash, Roles: roleList}
	if _, err := t.p.Store.Execute(ctx, cmd, operator); err != nil {
		return err
	}
	fmt.Fprintf(t.out, "created %s (%s), approved\n", name, cmd.UserID)
	return nil
}

// password reads CHAT_PASSWORD, or the first line of standard input, so it
// never appears in the process list or shell history.
func (t *tool) password() (string, error) {
	pw := os.Getenv("CHAT_PASSWORD")
	if pw == "" {
		line, err := bufio.NewReader(t.in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	return pw, domain.ValidatePassword(pw)
}

func (t *tool) changeStatus(ctx context.Context, who string, to domain.Transition) error {
	id, err := t.userID(ctx, who)
	if err != nil {
		return err
	}
	if _, err := t.p.Store.Execute(ctx, domain.ChangeStatus{UserID: id, To: to}, operator); err != nil {
		return err
	}
	fmt.Fprintf(t.out, "%s: %s done\n", who, to)
	return nil
}

func (t *tool) grant(ctx context.Context, who, role string) error {
	id, err := t.userID(ctx, who)
	if err != nil {
		return err
	}
	if _, err := t.p.Store.Execute(ctx, domain.GrantRole{UserID: id, Role: role}, operator); err != nil {
		return err
	}
	fmt.Fprintf(t.out, "%s: granted %s\n", who, role)
	return nil
}

// userID accepts a user id or a username.
func (t *tool) userID(ctx context.Context, who string) (uuid.UUID, error) {
	if id, err := uuid.Parse(who); err == nil {
		return id, nil
	}
	name, err := domain.NormalizeUsername(who)
	if err != nil {
		return uuid.Nil, err
	}
	id, _, err := t.p.DB.Credentials(ctx, name)
	if err != nil {
		return uuid.Nil, fmt.Errorf("user %s: %w", name, err)
	}
	return id, nil
}
