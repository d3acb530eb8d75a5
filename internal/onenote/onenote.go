// Package onenote calls Microsoft Graph's OneNote API on behalf of one signed-in user: the
// notebook tree, a section's pages, a page's metadata and output HTML, and its resources
// (images, attachments). Every call for a user shares one pacer that keeps to Graph's OneNote
// throttle (requests per minute and requests at once per user and app), retries what Graph says
// is transient (429 / 20166, 5xx, time-outs) with backoff, and asks for a fresh access token
// when one expires mid-way. It knows nothing of the web app; the web pages and the exporter use it.
package onenote

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// Options configure a Client. Zero values take the defaults in brackets.
type Options struct {
	HTTP    *http.Client // with the app's CA pool and timeouts [http.DefaultClient]
	BaseURL string       // Graph's versioned root, e.g. https://graph.microsoft.com/v1.0 (no trailing slash)
	// RequestsPerMinute and Concurrency are Graph's OneNote budget per user and app [120, 5].
	RequestsPerMinute int
	Concurrency       int
	Timeout           time.Duration // per HTTP attempt [30s]
	MaxRetries        int           // per call, after the first attempt [5]
	// Now and Sleep are the clock, replaceable in tests [time.Now, a context-aware sleep].
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// TokenSource returns a valid access token for the user with the OneNote scope. It is called
// before every attempt (cheap: MSAL answers from its cache) and again after a 401, so a long
// export outlives any one access token. It must never log the token.
type TokenSource func(ctx context.Context) (string, error)

// Client holds one pacer per user; it is safe for concurrent use.
type Client struct{ /* filled in by the implementation */ }

// New builds a Client. It makes no network call.
func New(o Options) *Client { panic("todo") }

// For binds calls to one user. userKey is stable for the user (tid/oid); every User for the
// same key shares one pacer, so pages and exports together keep to Graph's budget.
func (c *Client) For(userKey string, tokens TokenSource) *User { panic("todo") }

// User is the OneNote API for one signed-in user.
type User struct{ /* filled in by the implementation */ }

// Notebook is a notebook with its sections and section groups, nested as in OneNote.
type Notebook struct {
	ID            string
	Name          string // displayName
	LastModified  time.Time
	WebURL        string // links.oneNoteWebUrl.href
	Sections      []Section
	SectionGroups []SectionGroup
}

// SectionGroup is a folder of sections (and of further section groups).
type SectionGroup struct {
	ID            string
	Name          string
	Sections      []Section
	SectionGroups []SectionGroup
}

// Section is a section, with where it sits.
type Section struct {
	ID           string
	Name         string
	LastModified time.Time
	WebURL       string
	NotebookID   string
	NotebookName string
	GroupID      string // parent section group, "" at the notebook's top level
	GroupName    string
}

// Page is a page's metadata.
type Page struct {
	ID           string
	Title        string
	Created      time.Time
	LastModified time.Time
	Level        int // sub-page depth: 0 top level, 1 sub-page, 2 sub-sub-page
	Order        int // position in the section, as OneNote shows it
	WebURL       string // links.oneNoteWebUrl.href
	ClientURL    string // links.oneNoteClientUrl.href
	SectionID    string
	SectionName  string // parentSection's name or displayName (Graph's docs disagree: both accepted)
}

// Resource is a streamed image or attachment. The caller closes Body.
type Resource struct {
	Body          io.ReadCloser
	ContentType   string // as Graph sent it (often application/octet-stream: prefer the page's data-src-type)
	ContentLength int64  // -1 when unknown
}

// Notebooks returns every notebook of the user, each with its section groups and sections
// nested as in OneNote, ordered by name.
func (u *User) Notebooks(ctx context.Context) ([]Notebook, error) { panic("todo") }

// Notebook returns one notebook with its tree.
func (u *User) Notebook(ctx context.Context, id string) (Notebook, error) { panic("todo") }

// Section returns one section's metadata.
func (u *User) Section(ctx context.Context, id string) (Section, error) { panic("todo") }

// SectionPages returns every page of the section in OneNote's order (Order ascending), with
// Level set; it pages 100 at a time with $top/$skip until Graph returns fewer.
func (u *User) SectionPages(ctx context.Context, sectionID string) ([]Page, error) { panic("todo") }

// Page returns one page's metadata, with its parent section's name.
func (u *User) Page(ctx context.Context, id string) (Page, error) { panic("todo") }

// PageContent returns the page's output HTML as Graph served it (at most MaxPageBytes).
func (u *User) PageContent(ctx context.Context, id string) ([]byte, error) { panic("todo") }

// Resource opens /me/onenote/resources/{id}/$value. Retries happen before any byte is returned.
func (u *User) Resource(ctx context.Context, id string) (*Resource, error) { panic("todo") }

// MaxPageBytes bounds a page's output HTML.
const MaxPageBytes = 16 << 20

// ValidID reports whether id can go into a Graph path unchanged: non-empty, at most 512 bytes,
// only letters, digits and - ! _ . (but not "." or ".." segments) — nothing that could change
// the path or query (/ \ ? # % whitespace, control characters).
func ValidID(id string) bool { panic("todo") }

// Error is an error answer from Graph's OneNote API.
type Error struct {
	Status    int    // HTTP status (0 when Graph could not be reached)
	Code      string // Graph's error.code: "20102", "20166", "20266", "40004", ...
	Message   string // Graph's message, shortened
	RequestID string // Graph's request-id header
	Attempts  int    // how many attempts were made
	Err       error  // the cause when Graph could not be reached
}

func (e *Error) Error() string { panic("todo") }
func (e *Error) Unwrap() error { return e.Err }

// Is maps Graph's answers onto the sentinels below, so callers use errors.Is.
func (e *Error) Is(target error) bool { panic("todo") }

// Sentinels, matched with errors.Is.
var (
	ErrInvalidID        = errors.New("onenote: id is not a OneNote id")               // refused before any call
	ErrNotFound         = errors.New("onenote: not found")                            // 404 / 20102
	ErrThrottled        = errors.New("onenote: throttled by Graph")                   // 429 / 20166 after retries
	ErrTooManySections  = errors.New("onenote: too many sections for a user-wide list") // 20266
	ErrScope            = errors.New("onenote: the token lacks a OneNote scope")      // 403 / 40004 (and 401 with a valid token)
	ErrNoOneNote        = errors.New("onenote: the user has no OneNote")              // no OneDrive/OneNote for the user
	ErrUnavailable      = errors.New("onenote: Graph is unavailable")                 // 5xx, unreachable, time-out, after retries
	ErrUnauthenticated  = errors.New("onenote: Graph refused the access token")       // 401 even with a fresh token
)
