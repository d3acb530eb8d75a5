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
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
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
	MaxRetries        int           // per call, after the first attempt [5]; negative: none
	// Now and Sleep are the clock, replaceable in tests [time.Now, a context-aware sleep].
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// TokenSource returns a valid access token for the user with the OneNote scope. It is called
// before every attempt (cheap: MSAL answers from its cache) and again after a 401, so a long
// export outlives any one access token. It must never log the token.
type TokenSource func(ctx context.Context) (string, error)

// Client holds one pacer per user; it is safe for concurrent use.
type Client struct {
	hc          *http.Client
	base        string
	rpm         int
	concurrency int
	timeout     time.Duration
	maxRetries  int
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error

	// window is the throttle's sliding window (Graph counts per minute), idleAfter how long an
	// unused pacer is kept (never shorter than window), maxPage the bound on PageContent. Tests
	// shorten them.
	window    time.Duration
	idleAfter time.Duration
	maxPage   int64

	mu     sync.Mutex
	pacers map[string]*pacer // by userKey
	swept  time.Time         // last sweep of idle pacers
}

// New builds a Client. It makes no network call.
func New(o Options) *Client {
	c := &Client{
		hc:          o.HTTP,
		base:        strings.TrimRight(o.BaseURL, "/"),
		rpm:         o.RequestsPerMinute,
		concurrency: o.Concurrency,
		timeout:     o.Timeout,
		maxRetries:  o.MaxRetries,
		now:         o.Now,
		sleep:       o.Sleep,
		// Graph counts a minute of arrivals; the pacer counts starts, which reach Graph a little
		// apart (connection set-up, scheduling). A one-second cushion per minute (1.7% of the
		// budget) keeps a full window from landing one request over the limit.
		window:    time.Minute + time.Second,
		idleAfter: 2 * time.Minute,
		maxPage:   MaxPageBytes,
		pacers:    map[string]*pacer{},
	}
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	if c.base == "" {
		c.base = defaultBaseURL
	}
	if c.rpm <= 0 {
		c.rpm = 120
	}
	if c.concurrency <= 0 {
		c.concurrency = 5
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = 5
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	return c
}

// For binds calls to one user. userKey is stable for the user (tid/oid); every User for the
// same key shares one pacer, so pages and exports together keep to Graph's budget.
func (c *Client) For(userKey string, tokens TokenSource) *User {
	return &User{c: c, key: userKey, tokens: tokens}
}

// User is the OneNote API for one signed-in user.
//
// It holds no pacer itself: each attempt looks the user's pacer up by key, so a pacer dropped
// while idle is never shared by halves.
type User struct {
	c      *Client
	key    string
	tokens TokenSource
}

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
	Level        int    // sub-page depth: 0 top level, 1 sub-page, 2 sub-sub-page
	Order        int    // position in the section, as OneNote shows it (-1 when Graph sent none)
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
func (u *User) Notebooks(ctx context.Context) ([]Notebook, error) {
	nbs, err := u.notebookTree(ctx)
	if err != nil {
		return nil, fmt.Errorf("onenote: notebooks: %w", err)
	}
	return nbs, nil
}

// Notebook returns one notebook with its tree.
func (u *User) Notebook(ctx context.Context, id string) (Notebook, error) {
	if !ValidID(id) {
		return Notebook{}, invalidID("notebook", id)
	}
	// Graph has no one-call tree for a notebook that also covers deep section groups; the
	// three user-wide lists are as cheap for one notebook as for all.
	nbs, err := u.notebookTree(ctx)
	if err != nil {
		return Notebook{}, fmt.Errorf("onenote: notebook %s: %w", id, err)
	}
	for _, nb := range nbs {
		if nb.ID == id {
			return nb, nil
		}
	}
	return Notebook{}, fmt.Errorf("onenote: notebook %s: %w", id, ErrNotFound)
}

// Section returns one section's metadata.
func (u *User) Section(ctx context.Context, id string) (Section, error) {
	if !ValidID(id) {
		return Section{}, invalidID("section", id)
	}
	var ws wireSection
	if err := u.getJSON(ctx, u.c.base+"/me/onenote/sections/"+url.PathEscape(id)+"?$expand=parentNotebook,parentSectionGroup", &ws); err != nil {
		return Section{}, fmt.Errorf("onenote: section %s: %w", id, err)
	}
	return ws.section(), nil
}

// SectionPages returns every page of the section in OneNote's order (Order ascending), with
// Level set; it pages 100 at a time with $top/$skip until Graph returns fewer.
func (u *User) SectionPages(ctx context.Context, sectionID string) ([]Page, error) {
	if !ValidID(sectionID) {
		return nil, invalidID("section", sectionID)
	}
	wps, err := list[wirePage](ctx, u, u.c.base+"/me/onenote/sections/"+url.PathEscape(sectionID)+"/pages?pagelevel=true&")
	if err != nil {
		return nil, fmt.Errorf("onenote: pages of section %s: %w", sectionID, err)
	}
	return sortPages(wps, sectionID), nil
}

// Page returns one page's metadata, with its parent section's name.
func (u *User) Page(ctx context.Context, id string) (Page, error) {
	if !ValidID(id) {
		return Page{}, invalidID("page", id)
	}
	var wp wirePage
	if err := u.getJSON(ctx, u.c.base+"/me/onenote/pages/"+url.PathEscape(id)+"?pagelevel=true&$expand=parentSection", &wp); err != nil {
		return Page{}, fmt.Errorf("onenote: page %s: %w", id, err)
	}
	return wp.page(""), nil
}

// PageContent returns the page's output HTML as Graph served it (at most MaxPageBytes).
func (u *User) PageContent(ctx context.Context, id string) ([]byte, error) {
	if !ValidID(id) {
		return nil, invalidID("page", id)
	}
	_, body, err := u.fetch(ctx, u.c.base+"/me/onenote/pages/"+url.PathEscape(id)+"/content", false, u.c.maxPage)
	if err != nil {
		return nil, fmt.Errorf("onenote: content of page %s: %w", id, err)
	}
	return body, nil
}

// Resource opens /me/onenote/resources/{id}/$value. Retries happen before any byte is returned.
func (u *User) Resource(ctx context.Context, id string) (*Resource, error) {
	if !ValidID(id) {
		return nil, invalidID("resource", id)
	}
	resp, _, err := u.fetch(ctx, u.c.base+"/me/onenote/resources/"+url.PathEscape(id)+"/$value", true, 0)
	if err != nil {
		return nil, fmt.Errorf("onenote: resource %s: %w", id, err)
	}
	return &Resource{Body: resp.Body, ContentType: resp.Header.Get("Content-Type"), ContentLength: resp.ContentLength}, nil
}

// MaxPageBytes bounds a page's output HTML.
const MaxPageBytes = 16 << 20

// ValidID reports whether id can go into a Graph path unchanged: non-empty, at most 512 bytes,
// only letters, digits and - ! _ . (but not "." or ".." segments) — nothing that could change
// the path or query (/ \ ? # % whitespace, control characters).
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 512 || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case b == '-', b == '!', b == '_', b == '.':
		default:
			return false
		}
	}
	return true
}

// Error is an error answer from Graph's OneNote API.
type Error struct {
	Status    int    // HTTP status (0 when Graph could not be reached)
	Code      string // Graph's error.code: "20102", "20166", "20266", "40004", ...
	Message   string // Graph's message, shortened
	RequestID string // Graph's request-id header
	Attempts  int    // how many attempts were made
	Err       error  // the cause when Graph could not be reached
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Status == 0 {
		b.WriteString("Graph could not be reached")
	} else {
		fmt.Fprintf(&b, "Graph answered %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ", code %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Attempts == 1 {
		b.WriteString(" (1 attempt")
	} else {
		fmt.Fprintf(&b, " (%d attempts", e.Attempts)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, ", request-id %s", e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}
func (e *Error) Unwrap() error { return e.Err }

// Is maps Graph's answers onto the sentinels below, so callers use errors.Is.
func (e *Error) Is(target error) bool {
	k := e.kind()
	return k != nil && k == target
}

// Sentinels, matched with errors.Is.
var (
	ErrInvalidID       = errors.New("onenote: id is not a OneNote id")                   // refused before any call
	ErrNotFound        = errors.New("onenote: not found")                                // 404 / 20102
	ErrThrottled       = errors.New("onenote: throttled by Graph")                       // 429 / 20166 after retries
	ErrTooManySections = errors.New("onenote: too many sections for a user-wide list")   // 20266
	ErrScope           = errors.New("onenote: the token lacks a OneNote scope")          // 403 / 40004 (and 401 with a valid token)
	ErrNoOneNote       = errors.New("onenote: the user has no OneNote")                  // no OneDrive/OneNote for the user
	ErrUnavailable     = errors.New("onenote: Graph is unavailable")                     // 5xx, unreachable, time-out, after retries
	ErrUnauthenticated = errors.New("onenote: Graph refused the access token")           // 401 even with a fresh token
	ErrTooLarge        = errors.New("onenote: page content is larger than MaxPageBytes") // refused, not truncated
)
