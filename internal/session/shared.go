package session

import (
	"context"
	"fmt"
)

// openShared opens a store shared by several app instances.
func openShared(_ context.Context, o Options) (*Store, error) {
	return nil, fmt.Errorf("session store: SESSION_TYPE %q is not supported", o.Type)
}
