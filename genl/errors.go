package genl

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// NotFoundError reports a family, or a family's multicast group, that the
// controller does not know. errors.Is(err, os.ErrNotExist) holds for it, and
// Err, when set, is the controller's reply (an *netlink.OpError wrapping
// ENOENT), which Unwrap returns.
type NotFoundError struct {
	// Family is the family's name; empty when it was looked up by ID.
	Family string
	// ID is the family ID that was looked up, when Family is empty.
	ID uint16
	// Group is the multicast group that the family lacks, if that is what
	// was not found.
	Group string
	// Err is the underlying error, if any.
	Err error
}

// Error implements error.
func (e *NotFoundError) Error() string {
	switch {
	case e.Group != "":
		return fmt.Sprintf("genl: family %q has no multicast group %q", e.Family, e.Group)
	case e.Family != "":
		return fmt.Sprintf("genl: family %q not found", e.Family)
	}
	return "genl: family id " + strconv.Itoa(int(e.ID)) + " not found"
}

// Unwrap returns the underlying error.
func (e *NotFoundError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, os.ErrNotExist) hold.
func (e *NotFoundError) Is(target error) bool { return target == os.ErrNotExist }

// errCacheEnabled reports a second EnableCache.
var errCacheEnabled = errors.New("genl: the family cache is already enabled")
