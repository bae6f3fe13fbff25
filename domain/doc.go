// Package domain holds the chat's rules: the event catalogue, the commands,
// and the pure decisions that turn a command and the little state it needs
// into events or a typed error.
//
// It must never import an adapter, a database driver, a clock or a source of
// randomness: time and new ids are passed in, so every decision can be
// replayed and tested as a table. Its only dependencies are the standard
// library and github.com/google/uuid.
package domain
