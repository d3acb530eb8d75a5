package emulator

// Microsoft Graph's OneNote API, read side: notebooks, section groups, sections, pages, page
// content (OneNote's output HTML) and resources (images, attachments), under /v1.0/me/onenote
// and /v1.0/users/{id or UPN}/onenote for the signed-in user, with Graph's paging, query
// options, error codes and throttling (per app and user: requests per minute and concurrent
// requests, 429 with code 20166 and no Retry-After).

import (
	"crypto/sha256"
	"maps"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// OneNoteSettings configures the emulated OneNote API (Config.OneNote). Zero values mean the
// defaults.
type OneNoteSettings struct {
	// RequestsPerMinute is how many requests an app may start for one user in a sliding
	// minute (divided by ClockSpeed); default 120, negative means unlimited.
	RequestsPerMinute int
	// Concurrency is how many requests an app may have in flight for one user; default 5,
	// negative means unlimited.
	Concurrency int
	// ClockSpeed divides the throttling window: 100 makes the minute last 0.6 s. Default 1.
	ClockSpeed float64
	// TooManySectionsThreshold: GET .../onenote/pages answers 400, code 20266, for a user
	// with more sections than this. Default 10.
	TooManySectionsThreshold int
	// NoOneNoteUsers (IDs or UPNs) have no OneDrive for Business, hence no OneNote: every
	// OneNote request for them answers 404, code 30108.
	NoOneNoteUsers []string
	// SkipDemoData makes users start with no notebooks instead of the demo tree.
	SkipDemoData bool
}

// OneNoteStats are the OneNote API's counters since the last ResetOneNoteStats.
type OneNoteStats struct {
	Requests        int            `json:"requests"`          // every OneNote request
	Served          int            `json:"served"`            // 2xx answers
	Throttled       int            `json:"throttled"`         // 429s from the throttle (RPM or concurrency)
	Injected429     int            `json:"injected429"`       // 429s from SetOneNoteFaultRates
	Injected503     int            `json:"injected503"`       // 503s from SetOneNoteFaultRates
	Faults          int            `json:"faults"`            // FailNext faults applied
	PeakInFlight    int            `json:"peakInFlight"`      // highest in flight for one (app, user)
	PeakInFlightAll int            `json:"peakInFlightAll"`   // highest in flight overall
	ByOperation     map[string]int `json:"byOperation"`       // e.g. "content": 1000
	ByClient        map[string]int `json:"byClient"`          // "appID|userOID" -> authenticated requests
	ThrottledBy     map[string]int `json:"throttledByClient"` // "appID|userOID" -> 429s (throttle and injected)
}

// Default OneNote settings.
const (
	defaultOneNoteRPM         = 120
	defaultOneNoteConcurrency = 5
	defaultOneNoteSections    = 10
)

// oneNoteScopes are the delegated permissions that allow reading notebooks. Notes.Create
// does not: it only creates.
var oneNoteScopes = canonicalMap("Notes.Read", "Notes.ReadWrite", "Notes.Read.All", "Notes.ReadWrite.All")

// oneNoteState is the OneNote part of a Server.
type oneNoteState struct {
	store *oneNoteStore

	mu          sync.Mutex
	rpm         int
	concurrency int
	speed       float64
	maxSections int
	buckets     map[string]*oneNoteBucket // by "appID|oid"
	inFlightAll int
	rng         *rand.Rand
	p429, p503  float64
	stats       OneNoteStats
}

// oneNoteBucket is one (app, user)'s throttling state.
type oneNoteBucket struct {
	starts   []time.Time // request starts in the window, oldest first
	inFlight int
}

func newOneNoteState(set OneNoteSettings, st *state) *oneNoteState {
	sum := sha256.Sum256(append([]byte("emulator-onenote-ids|"), st.signer.key.D.Bytes()...))
	o := &oneNoteState{
		store:   newOneNoteStore(sum[:], set),
		buckets: map[string]*oneNoteBucket{},
		rng:     rand.New(rand.NewPCG(1, 2)),
	}
	o.configure(set)
	o.resetStatsLocked()
	return o
}

func (o *oneNoteState) configure(set OneNoteSettings) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rpm, o.concurrency, o.speed, o.maxSections = set.RequestsPerMinute, set.Concurrency, set.ClockSpeed, set.TooManySectionsThreshold
	if o.rpm == 0 {
		o.rpm = defaultOneNoteRPM
	}
	if o.concurrency == 0 {
		o.concurrency = defaultOneNoteConcurrency
	}
	if o.speed <= 0 {
		o.speed = 1
	}
	if o.maxSections <= 0 {
		o.maxSections = defaultOneNoteSections
	}
}

func (o *oneNoteState) resetStatsLocked() {
	o.stats = OneNoteStats{ByOperation: map[string]int{}, ByClient: map[string]int{}, ThrottledBy: map[string]int{}}
}

// windowLocked is the throttling window at the current clock speed. o.mu must be held.
func (o *oneNoteState) windowLocked() time.Duration {
	return time.Duration(float64(time.Minute) / o.speed)
}

// acquire starts a request for key, or reports that it is throttled.
func (o *oneNoteState) acquire(key string) (release func(), ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buckets[key]
	if b == nil {
		b = &oneNoteBucket{}
		o.buckets[key] = b
	}
	now := time.Now()
	cutoff := now.Add(-o.windowLocked())
	i := 0
	for i < len(b.starts) && !b.starts[i].After(cutoff) {
		i++
	}
	if i > 0 {
		b.starts = append(b.starts[:0], b.starts[i:]...)
	}
	if (o.concurrency > 0 && b.inFlight >= o.concurrency) || (o.rpm > 0 && len(b.starts) >= o.rpm) {
		o.stats.Throttled++
		o.stats.ThrottledBy[key]++
		return nil, false
	}
	b.starts = append(b.starts, now)
	b.inFlight++
	o.inFlightAll++
	o.stats.PeakInFlight = max(o.stats.PeakInFlight, b.inFlight)
	o.stats.PeakInFlightAll = max(o.stats.PeakInFlightAll, o.inFlightAll)
	var once sync.Once
	return func() {
		once.Do(func() {
			o.mu.Lock()
			b.inFlight--
			o.inFlightAll--
			o.mu.Unlock()
		})
	}, true
}

// randomFault draws from the injection rates: 429, 503 or 0.
func (o *oneNoteState) randomFault(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.p429 <= 0 && o.p503 <= 0 {
		return 0
	}
	x := o.rng.Float64()
	switch {
	case x < o.p429:
		o.stats.Injected429++
		o.stats.ThrottledBy[key]++
		return http.StatusTooManyRequests
	case x < o.p429+o.p503:
		o.stats.Injected503++
		return http.StatusServiceUnavailable
	}
	return 0
}

func (o *oneNoteState) note(f func(st *OneNoteStats)) {
	o.mu.Lock()
	f(&o.stats)
	o.mu.Unlock()
}

// --- Go API ---

// OneNoteConfigure replaces the OneNote throttling and size settings (RequestsPerMinute,
// Concurrency, ClockSpeed, TooManySectionsThreshold; zero means the default). Users without
// OneNote and demo data are set with Config.OneNote or SetOneNoteAvailable.
func (s *Server) OneNoteConfigure(c OneNoteSettings) { s.onenote.configure(c) }

// SetOneNoteClockSpeed sets the throttle's clock speed: the window lasts a minute divided by
// f (f <= 0 means 1).
func (s *Server) SetOneNoteClockSpeed(f float64) {
	o := s.onenote
	o.mu.Lock()
	defer o.mu.Unlock()
	if f <= 0 {
		f = 1
	}
	o.speed = f
}

// SetOneNoteFaultRates makes each authenticated OneNote request fail at random with a 429
// (code 20166, no Retry-After) with probability p429, or a 503 (code 10002) with
// probability p503. The generator is seeded, so a run is repeatable; 0, 0 turns it off.
func (s *Server) SetOneNoteFaultRates(p429, p503 float64) {
	o := s.onenote
	o.mu.Lock()
	defer o.mu.Unlock()
	o.p429, o.p503 = clamp01(p429), clamp01(p503)
	o.rng = rand.New(rand.NewPCG(1, 2))
}

func clamp01(p float64) float64 {
	if p != p || p < 0 { // NaN or negative
		return 0
	}
	return min(p, 1)
}

// OneNoteStats returns a copy of the OneNote counters.
func (s *Server) OneNoteStats() OneNoteStats {
	o := s.onenote
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.stats
	st.ByOperation = maps.Clone(o.stats.ByOperation)
	st.ByClient = maps.Clone(o.stats.ByClient)
	st.ThrottledBy = maps.Clone(o.stats.ThrottledBy)
	return st
}

// ResetOneNoteStats zeroes the OneNote counters (and the peaks) and forgets the throttle's
// history, so the next test starts with a full allowance.
func (s *Server) ResetOneNoteStats() {
	o := s.onenote
	o.mu.Lock()
	defer o.mu.Unlock()
	o.resetStatsLocked()
	for k, b := range o.buckets {
		if b.inFlight == 0 {
			delete(o.buckets, k)
		} else {
			b.starts = nil
		}
	}
}

// --- HTTP ---

// withOneNote serves the OneNote API under /v1.0/me/onenote/, /v1.0/users/{id or
// UPN}/onenote/ and /v1.0/users('{id or UPN}')/onenote/, and passes everything else to next.
// (A ServeMux pattern for these would conflict with the /{tenant}/... patterns.)
func (s *Server) withOneNote(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		userRef, rest, ok := oneNotePath(r.URL.Path)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			s.writeGraphError(w, r, &graphError{http.StatusMethodNotAllowed, "20100", "Only reading is emulated: use GET."}, 0)
			return
		}
		s.serveOneNote(w, r, userRef, rest)
	})
}

// oneNotePath splits a OneNote path into the user reference ("" for /me) and the part after
// /onenote/.
func oneNotePath(p string) (userRef, rest string, ok bool) {
	after, found := strings.CutPrefix(p, "/v1.0/")
	if !found {
		return "", "", false
	}
	owner, after, _ := strings.Cut(after, "/")
	switch {
	case owner == "me":
	case owner == "users":
		userRef, after, _ = strings.Cut(after, "/")
	case strings.HasPrefix(owner, "users(") && strings.HasSuffix(owner, ")"):
		userRef = strings.Trim(owner[len("users("):len(owner)-1], "'")
	default:
		return "", "", false
	}
	rest, found = strings.CutPrefix(after, "onenote/")
	if !found || userRef == "" && owner != "me" {
		return "", "", false
	}
	return userRef, rest, true
}

// oneNoteRoute is a parsed OneNote path.
type oneNoteRoute struct {
	op   string // counter name, e.g. "notebooks", "section:pages", "content"
	kind onKind // the kind of the addressed entity or of the collection's items
	id   string // the addressed entity, "" for a user-wide collection
	coll bool   // a collection
	// parent is the kind of the entity id names in a child collection (.../{id}/sections).
	parent onKind
}

// oneNoteCollections are the top-level collections under /onenote/ and their items' kind.
var oneNoteCollections = map[string]onKind{"notebooks": kNotebook, "sectionGroups": kSectionGroup, "sections": kSection, "pages": kPage}

// parseOneNotePath parses the part after /onenote/.
func parseOneNotePath(p string) (oneNoteRoute, *graphError) {
	parts := strings.Split(strings.TrimSuffix(p, "/"), "/")
	bad := &graphError{http.StatusBadRequest, "20100", "Resource not found for the segment '" + p + "'."}
	if len(parts) == 0 || parts[0] == "" {
		return oneNoteRoute{}, bad
	}
	if parts[0] == "resources" {
		if len(parts) == 3 && parts[1] != "" && (parts[2] == "$value" || parts[2] == "content") {
			return oneNoteRoute{op: "resource", kind: kResource, id: parts[1]}, nil
		}
		return oneNoteRoute{}, bad
	}
	kind, ok := oneNoteCollections[parts[0]]
	if !ok {
		return oneNoteRoute{}, bad
	}
	name := kindNames[kind]
	switch len(parts) {
	case 1:
		return oneNoteRoute{op: parts[0], kind: kind, coll: true}, nil
	case 2:
		if parts[1] == "$count" {
			return oneNoteRoute{}, &graphError{http.StatusBadRequest, "20111", "$count is not supported on this collection."}
		}
		return oneNoteRoute{op: name, kind: kind, id: parts[1]}, nil
	case 3:
		child := parts[2]
		switch {
		case kind == kPage && child == "content":
			return oneNoteRoute{op: "content", kind: kPage, id: parts[1]}, nil
		case (kind == kNotebook || kind == kSectionGroup) && (child == "sections" || child == "sectionGroups"):
			return oneNoteRoute{op: name + ":" + child, kind: oneNoteCollections[child], id: parts[1], coll: true, parent: kind}, nil
		case kind == kSection && child == "pages":
			return oneNoteRoute{op: "section:pages", kind: kPage, id: parts[1], coll: true, parent: kSection}, nil
		}
	}
	return oneNoteRoute{}, bad
}

// serveOneNote checks the token, the user, the throttle and injected faults, then answers.
func (s *Server) serveOneNote(w http.ResponseWriter, r *http.Request, userRef, path string) {
	o := s.onenote
	route, routeErr := parseOneNotePath(path)
	op := route.op
	if routeErr != nil {
		op = "unknown"
	}
	s.count("onenote:" + op)
	o.note(func(st *OneNoteStats) { st.Requests++; st.ByOperation[op]++ })

	claims, gerr := s.graphAuth(r)
	if gerr != nil {
		s.writeGraphError(w, r, gerr, 0)
		return
	}
	scp := claims.str(claims.claims, "scp")
	if claims.str(claims.claims, "idtyp") == "app" || !scopeAllows(scp, oneNoteScopes) {
		s.writeGraphError(w, r, &graphError{http.StatusForbidden, "40004", "The OAuth token provided does not have the necessary scopes to complete the request. " +
			"Please make sure you are including one of the following scopes: Notes.ReadWrite.CreatedByApp,Notes.ReadWrite,Notes.ReadWrite.All,Notes.Read,Notes.Read.All."}, 0)
		return
	}
	oid := strings.ToLower(claims.str(claims.claims, "oid"))
	user, ok := s.findUser(oid)
	if !ok {
		s.writeGraphError(w, r, &graphError{http.StatusNotFound, "Request_ResourceNotFound", "Resource '" + oid + "' does not exist or one of its queried reference-property objects are not present."}, 0)
		return
	}
	if userRef != "" && !strings.EqualFold(userRef, user.ID) && !strings.EqualFold(userRef, user.UserPrincipalName) {
		if _, exists := s.findUser(userRef); !exists {
			s.writeGraphError(w, r, &graphError{http.StatusNotFound, "Request_ResourceNotFound", "Resource '" + userRef + "' does not exist or one of its queried reference-property objects are not present."}, 0)
			return
		}
		s.writeGraphError(w, r, &graphError{http.StatusForbidden, "Authorization_RequestDenied", "Access is denied. Only the signed-in user's notebooks are emulated."}, 0)
		return
	}
	app := claims.str(claims.claims, "azp")
	if app == "" {
		app = claims.str(claims.claims, "appid")
	}
	key := strings.ToLower(app) + "|" + oid
	o.note(func(st *OneNoteStats) { st.ByClient[key]++ })

	release, ok := o.acquire(key)
	if !ok {
		s.oneNote429(w, r)
		return
	}
	defer release()

	if f, ok := s.takeOneNoteFault(op); ok {
		o.note(func(st *OneNoteStats) { st.Faults++ })
		if !s.sleep(r, f.Delay) {
			return
		}
		if !f.delayOnly() {
			e := oneNoteFaultError(f)
			if e.status == http.StatusTooManyRequests {
				s.count("onenote:429")
			}
			s.writeGraphError(w, r, e, f.RetryAfter)
			return
		}
	}
	switch o.randomFault(key) {
	case http.StatusTooManyRequests:
		s.oneNote429(w, r)
		return
	case http.StatusServiceUnavailable:
		s.writeGraphError(w, r, oneNoteError("10002"), 0)
		return
	}

	if routeErr != nil {
		s.writeGraphError(w, r, routeErr, 0)
		return
	}
	u, hasOneNote := o.store.user(user)
	if !hasOneNote {
		s.writeGraphError(w, r, oneNoteError("30108"), 0)
		return
	}
	rc := &renderCtx{base: s.base(r), store: o.store, user: u, userID: user.ID, upn: user.UserPrincipalName, name: user.DisplayName}
	var status int
	switch route.op {
	case "resource":
		status = s.serveOneNoteResource(w, r, u, route.id)
	case "content":
		status = s.serveOneNoteContent(w, r, rc, route.id)
	default:
		status = s.serveOneNoteJSON(w, r, rc, route)
	}
	if status >= 200 && status < 300 {
		o.note(func(st *OneNoteStats) { st.Served++ })
	}
}

// oneNote429 answers as OneNote's throttle does: 429, code 20166, no Retry-After.
func (s *Server) oneNote429(w http.ResponseWriter, r *http.Request) {
	s.count("onenote:429")
	s.writeGraphError(w, r, oneNoteError("20166"), 0)
}

// takeOneNoteFault takes a fault queued for this operation ("onenote:content",
// "onenote:resource") or, failing that, for any OneNote request ("onenote").
func (s *Server) takeOneNoteFault(op string) (Fault, bool) {
	switch op {
	case "content", "resource":
		if f, ok := s.takeFault("onenote:" + op); ok {
			return f, true
		}
	}
	return s.takeFault("onenote")
}

// oneNoteCodes are OneNote error codes with their usual status and message.
var oneNoteCodes = map[string]struct {
	status int
	msg    string
}{
	"10001": {500, "An unexpected error occurred and the request failed."},
	"10002": {503, "The service is not currently available."},
	"10003": {429, "The current user's account has exceeded the maximum number of active requests. Your app will have to repeat this request."},
	"10007": {503, "The server is too busy to handle the incoming request at this moment. Please try again later."},
	"10008": {400, "One or more of the document libraries on the user or group's OneDrive contains more than 5,000 OneNote items (notebooks, sections, section groups) and cannot be queried using the API."},
	"10013": {400, "One or more of the document libraries on the user or group's OneDrive contains more than 20,000 items and cannot be indexed for querying using the API."},
	"19999": {500, "The request failed because an undetermined error occurred."},
	"20102": {404, "The specified resource ID does not exist."},
	"20129": {400, "The request contains a top query string option whose value is too high. The maximum value is 100."},
	"20166": {429, "The application has issued too many requests on behalf of a user in a short period of time. Please try again later."},
	"20266": {400, "The number of maximum sections is exceeded for this request. To get pages for accounts with a high number of sections, we recommend getting pages for one section at a time."},
	"30108": {404, "The OneDriveForBusiness for this user account cannot be retrieved."},
	"40004": {403, "The OAuth token provided does not have the necessary scopes to complete the request."},
}

// oneNoteCodeByStatus is the code an injected fault with only a status gets.
var oneNoteCodeByStatus = map[int]string{429: "20166", 503: "10002", 500: "10001", 404: "20102", 403: "40004", 400: "20100", 401: "InvalidAuthenticationToken", 504: "10007"}

// oneNoteError is OneNote's error for code, one of oneNoteCodes, with its usual status and
// message.
func oneNoteError(code string) *graphError {
	c := oneNoteCodes[code]
	return &graphError{status: c.status, code: code, message: c.msg}
}

// oneNoteFaultError turns an injected fault into OneNote's error: Fault.Error (or Fault.Code
// as a number) is the OneNote code, e.g. "20166".
func oneNoteFaultError(f Fault) *graphError {
	code := f.Error
	if code == "" && f.Code != 0 {
		code = strconv.Itoa(f.Code)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
		if c, ok := oneNoteCodes[code]; ok {
			status = c.status
		} else if code == "" {
			status = http.StatusServiceUnavailable
		}
	}
	if code == "" {
		if code = oneNoteCodeByStatus[status]; code == "" {
			code = "19999"
		}
	}
	msg := f.Description
	if msg == "" {
		if c, ok := oneNoteCodes[code]; ok {
			msg = c.msg
		} else if status == http.StatusUnauthorized {
			msg = "Access token validation failure."
		} else {
			msg = "The request failed because an undetermined error occurred."
		}
	}
	return &graphError{status: status, code: code, message: msg}
}
