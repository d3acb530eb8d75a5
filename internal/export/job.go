package export

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// A job's state lives in the shared store (the app's session store, used as a key-value
// store), not in the instance running it, so that any instance behind a load balancer can show
// its progress, cancel it and serve its zip. The keys:
//
//	export:job:<id>         the Job record, as JSON (rewritten by the running instance each second)
//	export:cancel:<id>      present when the owner asked to cancel (its own key, so the running
//	                        instance's heartbeat never writes over a cancel)
//	export:user:<hash>      the owner's running job id: at most one export per person
//	export:zip:<id>:<n>     the finished zip, in chunks of ChunkSize bytes
//
// Every key carries an expiry: the job and its zip Retention after it ends, the per-user lock
// StaleAfter after the last heartbeat (an instance that dies frees its user within StaleAfter).

// Store is the little a job needs from a shared store. The web package adapts the session store.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Put(ctx context.Context, key string, value []byte, expiry time.Time) error
	// PutNew writes only if no live record has key, in one step (Redis SET NX, SQL INSERT ON
	// CONFLICT DO NOTHING); it reports whether it wrote.
	PutNew(ctx context.Context, key string, value []byte, expiry time.Time) (bool, error)
	Delete(ctx context.Context, key string) error
}

// Status of a job.
const (
	StatusRunning   = "running"
	StatusDone      = "done"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Scope is what is exported: a notebook or a section.
type Scope struct {
	Kind string // "notebook" or "section"
	ID   string
}

// Job is a job's record in the store: everything the progress page and the download need.
type Job struct {
	ID        string `json:"id"`
	Owner     string `json:"owner"` // the user key (tid.oid) of the person who started it
	Kind      string `json:"kind"`
	ScopeID   string `json:"scopeId"`
	ScopeName string `json:"scopeName,omitempty"`
	Status    string `json:"status"`
	Phase     string `json:"phase,omitempty"` // "listing", "exporting", "saving"

	Pages       int    `json:"pages"`       // pages found
	PagesDone   int    `json:"pagesDone"`   // pages written (or given up on)
	PagesFailed int    `json:"pagesFailed"` // pages not exported
	Images      int    `json:"images"`      // images written
	Attachments int    `json:"attachments"` // attachments written
	AssetsLost  int    `json:"assetsLost"`  // images and attachments not exported
	Current     string `json:"current,omitempty"`

	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
	Finished  time.Time `json:"finished,omitzero"`
	Expires   time.Time `json:"expires"`

	FileName string `json:"fileName,omitempty"` // the zip's download name
	Bytes    int64  `json:"bytes,omitempty"`    // the zip's size
	Chunks   int    `json:"chunks,omitempty"`   // how many chunks hold it
	Error    string `json:"error,omitempty"`    // why the job failed, in plain words
	// Problems are the first pages and files not exported (all of them are in export-report.md).
	Problems []Problem `json:"problems,omitempty"`
}

// Problem is a page, image or attachment that was not exported, and why.
type Problem struct {
	Page     string `json:"page"`
	Section  string `json:"section"`
	Item     string `json:"item,omitempty"` // "" for the page itself, else the image or attachment
	Code     string `json:"code,omitempty"` // Graph's error code
	Status   int    `json:"status,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	Reason   string `json:"reason"`
}

// Active reports whether the job is still running.
func (j Job) Active() bool { return j.Status == StatusRunning }

// Sentinels, matched with errors.Is.
var (
	ErrNotFound = errors.New("export: no such export")      // missing, expired, or someone else's
	ErrGone     = errors.New("export: the zip has expired") // done, but the zip is no longer kept
	ErrNotDone  = errors.New("export: not finished")
	ErrTooLarge = errors.New("export: larger than the configured maximum")
)

// BusyError is returned by Start when the owner already has an export running.
type BusyError struct{ Running Job }

func (e *BusyError) Error() string {
	return fmt.Sprintf("export: %s already has export %s running", e.Running.Owner, e.Running.ID)
}

func jobKey(id string) string          { return "export:job:" + id }
func cancelKey(id string) string       { return "export:cancel:" + id }
func chunkKey(id string, n int) string { return fmt.Sprintf("export:zip:%s:%d", id, n) }
func userKey(owner string) string      { return "export:user:" + ownerHash(owner) }
func ownerHash(owner string) string {
	s := sha256.Sum256([]byte(owner))
	return hex.EncodeToString(s[:16])
}
func encodeJob(j Job) ([]byte, error)     { return json.Marshal(j) }
func decodeJob(b []byte) (j Job, e error) { e = json.Unmarshal(b, &j); return }

// newID is a job id: 128 random bits in hex.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ValidID reports whether id looks like a job id (32 lower-case hex digits): anything else is
// refused before the store is asked.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
