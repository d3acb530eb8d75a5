package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/graphauth/graphauth/internal/config"
)

// errCheckFailed makes `graphauth check` exit 1.
var errCheckFailed = errors.New("check failed")

func check(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fmt.Fprintln(stdout, "check: not implemented yet")
	return errCheckFailed
}
