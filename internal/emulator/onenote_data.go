package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// onKind is the type of a OneNote entity.
type onKind int

const (
	kNotebook onKind = iota
	kSectionGroup
	kSection
	kPage
	kResource
)

var kindNames = map[onKind]string{kNotebook: "notebook", kSectionGroup: "sectionGroup", kSection: "section", kPage: "page", kResource: "resource"}

// onItem is a notebook, section group, section or page. Everything but the child lists is
// immutable once created; the child lists change under the store's lock.
type onItem struct {
	kind      onKind
	id        string
	owner     *onUser
	name      string // displayName, or a page's title
	created   time.Time
	modified  time.Time
	isDefault bool
	notebook  *onItem // parent notebook (nil for a notebook)
	group     *onItem // parent section group, or nil
	section   *onItem // a page's section

	sections []*onItem // direct child sections
	groups   []*onItem // direct child section groups
	pages    []*onItem // a section's pages, in order

	// Pages only.
	level, order int
	appID        string
	seed         uint64
	images       []imagePair // generated pages: the images, each with its full-resolution twin
	attachment   *onResource // generated pages: an attached file, or nil
	custom       bool        // html is served verbatim
	html         string
	genOnce      sync.Once
	gen          string // generated content, with contentBase in place of the base URL
}

// imagePair is an image as OneNote stores it: a rendition and the full-resolution original.
type imagePair struct {
	small, full *onResource
	alt         string
}

// onResource is an image or file on a page. Generated ones make their bytes on first use.
type onResource struct {
	id    string
	owner *onUser
	kind  string // "png", "pdf" or "raw"
	w, h  int
	seed  uint64
	name  string // a file's name; a PDF's title
	once  sync.Once
	data  []byte
}

// bytes returns the resource's content, generating it once.
func (r *onResource) bytes() []byte {
	r.once.Do(func() {
		switch r.kind {
		case "png":
			r.data = genPNG(r.w, r.h, r.seed)
		case "pdf":
			r.data = genPDF(r.name, r.seed)
		}
	})
	return r.data
}

// onUser is one user's OneNote.
type onUser struct {
	oid       string // lower case
	upn       string
	cid       string // a per-user hex tag in ids, like the one in Graph's
	seq       int
	notebooks []*onItem
	groups    []*onItem // every section group, in creation order
	sections  []*onItem // every section
	pages     []*onItem // every page
}

// oneNoteStore holds every user's notebooks. Ids are unguessable: an HMAC of the user and
// a sequence number under a key derived from the emulator's signing key, so they are stable
// across restarts with the same state directory.
type oneNoteStore struct {
	secret []byte

	mu        sync.RWMutex
	skipDemo  bool
	users     map[string]*onUser // by lower-case oid
	items     map[string]*onItem
	resources map[string]*onResource
	noOneNote map[string]bool // lower-case IDs or UPNs
}

func newOneNoteStore(secret []byte, set OneNoteSettings) *oneNoteStore {
	st := &oneNoteStore{
		secret:    secret,
		skipDemo:  set.SkipDemoData,
		users:     map[string]*onUser{},
		items:     map[string]*onItem{},
		resources: map[string]*onResource{},
		noOneNote: map[string]bool{},
	}
	for _, u := range set.NoOneNoteUsers {
		st.noOneNote[strings.ToLower(u)] = true
	}
	return st
}

// user returns u's OneNote, creating it (with the demo tree) on first use, and false for a
// user without OneNote.
func (st *oneNoteStore) user(u User) (*onUser, bool) {
	oid := strings.ToLower(u.ID)
	st.mu.RLock()
	ou, no := st.users[oid], st.noOneNote[oid] || st.noOneNote[strings.ToLower(u.UserPrincipalName)]
	st.mu.RUnlock()
	if no {
		return nil, false
	}
	if ou != nil {
		return ou, true
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.userLocked(u), true
}

func (st *oneNoteStore) userLocked(u User) *onUser {
	oid := strings.ToLower(u.ID)
	if ou := st.users[oid]; ou != nil {
		return ou
	}
	sum := sha256.Sum256([]byte("emulator-onenote-cid|" + oid))
	ou := &onUser{oid: oid, upn: u.UserPrincipalName, cid: strings.ToUpper(hex.EncodeToString(sum[:8]))}
	st.users[oid] = ou
	if !st.skipDemo {
		st.addDemoLocked(ou)
	}
	return ou
}

// newID makes an id in Graph's style: 1-<32 hex>!<n>-<16 HEX>.
func (st *oneNoteStore) newID(u *onUser) string {
	u.seq++
	mac := hmac.New(sha256.New, st.secret)
	fmt.Fprintf(mac, "%s|%d", u.oid, u.seq)
	return "1-" + hex.EncodeToString(mac.Sum(nil)[:16]) + "!" + strconv.Itoa(u.seq) + "-" + u.cid
}

// seedOf derives a deterministic seed from the user and an id.
func seedOf(parts ...string) uint64 {
	sum := sha256.Sum256([]byte(strings.Join(parts, "|")))
	return binary.LittleEndian.Uint64(sum[:8])
}

// oneNoteEpoch is when the demo notebooks were "created".
var oneNoteEpoch = time.Date(2024, 1, 8, 9, 0, 0, 0, time.UTC)

func (st *oneNoteStore) newItemLocked(u *onUser, kind onKind, name string, parentNotebook, parentGroup *onItem) *onItem {
	it := &onItem{kind: kind, id: st.newID(u), owner: u, name: name, notebook: parentNotebook, group: parentGroup}
	it.seed = seedOf(u.oid, it.id)
	it.created = oneNoteEpoch.Add(time.Duration(u.seq)*97*time.Minute + time.Duration(it.seed%3600)*time.Second)
	it.modified = it.created.Add(time.Duration(it.seed%(90*24*60)) * time.Minute)
	st.items[it.id] = it
	return it
}

// notebookLocked finds or creates u's notebook called name.
func (st *oneNoteStore) notebookLocked(u *onUser, name string) *onItem {
	for _, nb := range u.notebooks {
		if strings.EqualFold(nb.name, name) {
			return nb
		}
	}
	nb := st.newItemLocked(u, kNotebook, name, nil, nil)
	nb.isDefault = len(u.notebooks) == 0
	u.notebooks = append(u.notebooks, nb)
	return nb
}

// sectionLocked creates a section at path ("Group/Sub/Section") in nb, creating section
// groups as needed. A section of that name already there is an error, as in OneNote.
func (st *oneNoteStore) sectionLocked(u *onUser, nb *onItem, path string) (*onItem, error) {
	names := strings.Split(path, "/")
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			return nil, fmt.Errorf("section path %q has an empty name", path)
		}
	}
	var group *onItem
	sections, groups := &nb.sections, &nb.groups
	for _, gname := range names[:len(names)-1] {
		var found *onItem
		for _, g := range *groups {
			if strings.EqualFold(g.name, gname) {
				found = g
			}
		}
		if found == nil {
			found = st.newItemLocked(u, kSectionGroup, gname, nb, group)
			*groups = append(*groups, found)
			u.groups = append(u.groups, found)
		}
		group = found
		sections, groups = &found.sections, &found.groups
	}
	name := names[len(names)-1]
	for _, s := range *sections {
		if strings.EqualFold(s.name, name) {
			return nil, fmt.Errorf("a section called %q already exists there", name)
		}
	}
	sec := st.newItemLocked(u, kSection, name, nb, group)
	sec.isDefault = len(u.sections) == 0
	*sections = append(*sections, sec)
	u.sections = append(u.sections, sec)
	return sec, nil
}

// pageLocked adds a page at the end of sec.
func (st *oneNoteStore) pageLocked(u *onUser, sec *onItem, title string, level int) *onItem {
	p := st.newItemLocked(u, kPage, title, sec.notebook, sec.group)
	p.section = sec
	p.level = level
	p.order = len(sec.pages)
	p.appID = oneNoteClientAppID
	// Pages of a section were edited at different times, each one later than the previous.
	p.created = sec.created.Add(time.Duration(p.order+1) * 41 * time.Minute)
	p.modified = p.created.Add(time.Duration(p.seed%(60*24*30))*time.Minute + time.Duration(p.order)*time.Second)
	sec.pages = append(sec.pages, p)
	u.pages = append(u.pages, p)
	return p
}

// oneNoteClientAppID is the createdByAppId of pages made in OneNote's own apps.
const oneNoteClientAppID = "WLID-000000004C12AE6F"

// newResourceLocked registers a generated resource.
func (st *oneNoteStore) newResourceLocked(u *onUser, kind string, w, h int, name string) *onResource {
	res := &onResource{id: st.newID(u), owner: u, kind: kind, w: w, h: h, name: name}
	res.seed = seedOf(u.oid, res.id)
	st.resources[res.id] = res
	return res
}

// addImagesLocked gives a generated page n images.
func (st *oneNoteStore) addImagesLocked(u *onUser, p *onItem, n int) {
	for i := range n {
		sd := seedOf(p.id, strconv.Itoa(i))
		w, h := 96+int(sd%8)*8, 64+int(sd>>8%6)*8
		alt := imageAlts[int(sd>>16%uint64(len(imageAlts)))]
		small := st.newResourceLocked(u, "png", w, h, "")
		full := st.newResourceLocked(u, "png", w*2, h*2, "")
		p.images = append(p.images, imagePair{small: small, full: full, alt: alt})
	}
}

var imageAlts = []string{"Whiteboard photo", "", "Architecture diagram", "Screenshot of the dashboard", "", "Chart: requests per day"}

// addDemoLocked builds the demo tree: "Work Notes" (Meetings, Projects, Archive/2024,
// Archive/Old/2023) and "Personal" (Recipes, Travel).
func (st *oneNoteStore) addDemoLocked(u *onUser) {
	type page struct {
		title  string
		level  int
		images int
		attach string
	}
	type section struct {
		notebook, path string
		pages          []page
	}
	demo := []section{
		{"Work Notes", "Meetings", []page{
			{"Weekly sync 2024-05-06", 0, 2, "agenda.pdf"},
			{"Action items", 1, 1, ""},
			{"Follow-ups with legal", 2, 0, ""},
			{"Design review: export", 0, 3, "report.pdf"},
			{"Retro notes", 1, 1, ""},
		}},
		{"Work Notes", "Projects", []page{
			{"Roadmap", 0, 1, ""},
			{"Migration plan", 1, 2, "migration-plan.pdf"},
			{"Budget", 0, 0, ""},
		}},
		{"Work Notes", "Archive/2024", []page{
			{"Q1 planning", 0, 1, ""},
			{"Offsite ideas", 0, 0, ""},
		}},
		{"Work Notes", "Archive/Old/2023", []page{
			{"Kick-off", 0, 1, "kickoff.pdf"},
			{"Lessons learned", 1, 0, ""},
		}},
		{"Personal", "Recipes", []page{
			{"Pancakes", 0, 1, ""},
			{"Lentil soup", 0, 2, ""},
			{"Shopping list", 1, 0, ""},
		}},
		{"Personal", "Travel", []page{
			{"Lisbon trip", 0, 2, "itinerary.pdf"},
			{"Packing list", 1, 0, ""},
		}},
	}
	for _, d := range demo {
		nb := st.notebookLocked(u, d.notebook)
		sec, err := st.sectionLocked(u, nb, d.path)
		if err != nil {
			continue // cannot happen: the demo paths are distinct
		}
		for _, pg := range d.pages {
			p := st.pageLocked(u, sec, pg.title, pg.level)
			st.addImagesLocked(u, p, pg.images)
			if pg.attach != "" {
				p.attachment = st.newResourceLocked(u, "pdf", 0, 0, pg.attach)
			}
		}
	}
}

// oneNoteUser returns user's (ID or UPN) OneNote, creating it on first use: errUnknownUser
// or errNoOneNote if there is none.
func (s *Server) oneNoteUser(user string) (*onUser, error) {
	u, ok := s.findUser(user)
	if !ok {
		return nil, errUnknownUser
	}
	ou, ok := s.onenote.store.user(u)
	if !ok {
		return nil, errNoOneNote
	}
	return ou, nil
}

// levelPattern gives generated sections sub-pages: levels 0, 1, 2, 1, 0, ...
var levelPattern = []int{0, 1, 2, 1, 0}

var errNoOneNote = errors.New("this user has no OneNote (Config.OneNote.NoOneNoteUsers)")

// AddOneNoteSection adds a section with pages generated pages, each with imagesPerPage
// images (every image has a full-resolution twin resource), to user's (ID or UPN) notebook
// notebookName, which is created if needed. sectionName may be a path, "Group/Sub/Section",
// to put the section in (new or existing) section groups. Page levels follow the pattern
// 0, 1, 2, 1, 0, ... and orders count from 0. It returns the section's id.
func (s *Server) AddOneNoteSection(userID, notebookName, sectionName string, pages, imagesPerPage int) (string, error) {
	if strings.TrimSpace(notebookName) == "" || strings.TrimSpace(sectionName) == "" {
		return "", errors.New("notebook and section names must not be empty")
	}
	if pages < 0 || imagesPerPage < 0 {
		return "", errors.New("pages and imagesPerPage must not be negative")
	}
	u, err := s.oneNoteUser(userID)
	if err != nil {
		return "", err
	}
	st := s.onenote.store
	st.mu.Lock()
	defer st.mu.Unlock()
	nb := st.notebookLocked(u, notebookName)
	sec, err := st.sectionLocked(u, nb, sectionName)
	if err != nil {
		return "", err
	}
	for i := range pages {
		p := st.pageLocked(u, sec, fmt.Sprintf("%s %04d: %s", sec.name, i+1, pageTopics[i%len(pageTopics)]), levelPattern[i%len(levelPattern)])
		st.addImagesLocked(u, p, imagesPerPage)
	}
	return sec.id, nil
}

var pageTopics = []string{"kick-off", "notes", "follow-up", "open questions", "decisions", "status", "ideas"}

// OneNotePageOptions are optional settings for AddOneNotePage.
type OneNotePageOptions struct {
	Level             int       // sub-page depth (0, 1 or 2)
	Created, Modified time.Time // default: after the section's last page
	CreatedByAppID    string    // default: OneNote's own app
}

// AddOneNotePage adds a page to the end of user's section sectionID: its content is html,
// served verbatim by /pages/{id}/content, and resources (id -> bytes) are served by
// /resources/{id}/$value (ids must be new; "" or ids with '/' are refused). It returns the
// page's id.
func (s *Server) AddOneNotePage(userID, sectionID, title, html string, resources map[string][]byte, opts ...OneNotePageOptions) (string, error) {
	u, err := s.oneNoteUser(userID)
	if err != nil {
		return "", err
	}
	var opt OneNotePageOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	st := s.onenote.store
	st.mu.Lock()
	defer st.mu.Unlock()
	sec := st.items[sectionID]
	if sec == nil || sec.kind != kSection || sec.owner != u {
		return "", fmt.Errorf("section %q: not one of the user's sections", sectionID)
	}
	for id := range resources {
		if id == "" || strings.ContainsAny(id, "/?#") {
			return "", fmt.Errorf("resource id %q: must be non-empty, without / ? #", id)
		}
		if st.resources[id] != nil {
			return "", fmt.Errorf("resource id %q already exists", id)
		}
	}
	p := st.pageLocked(u, sec, title, opt.Level)
	p.custom, p.html = true, html
	if opt.CreatedByAppID != "" {
		p.appID = opt.CreatedByAppID
	}
	if !opt.Created.IsZero() {
		p.created = opt.Created.UTC()
	}
	if !opt.Modified.IsZero() {
		p.modified = opt.Modified.UTC()
	}
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		st.resources[id] = &onResource{id: id, owner: u, kind: "raw", data: append([]byte(nil), resources[id]...)}
	}
	return p.id, nil
}

// OneNoteSectionIDs returns the ids of user's (ID or UPN) sections in creation order (the
// demo sections first: Meetings, Projects, 2024, 2023, Recipes, Travel), or nil for an
// unknown user or one without OneNote.
func (s *Server) OneNoteSectionIDs(user string) []string {
	ou, err := s.oneNoteUser(user)
	if err != nil {
		return nil
	}
	st := s.onenote.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	ids := make([]string, 0, len(ou.sections))
	for _, sec := range ou.sections {
		ids = append(ids, sec.id)
	}
	return ids
}

// OneNoteResource returns the bytes of a OneNote resource (any user's) by id.
func (s *Server) OneNoteResource(id string) ([]byte, bool) {
	st := s.onenote.store
	st.mu.RLock()
	res := st.resources[id]
	st.mu.RUnlock()
	if res == nil {
		return nil, false
	}
	return append([]byte(nil), res.bytes()...), true
}

// OneNoteResourceURL is the URL a page's HTML uses for resource id of user (UPN), as Graph
// writes it: <base>/v1.0/users('<upn>')/onenote/resources/<id>/$value.
func (s *Server) OneNoteResourceURL(upn, id string) string {
	return oneNoteResourceURL(s.URL(), upn, id)
}

// SetOneNoteAvailable gives user (ID or UPN) OneNote or takes it away (then every OneNote
// request for them answers 404, code 30108).
func (s *Server) SetOneNoteAvailable(user string, available bool) error {
	u, ok := s.findUser(user)
	if !ok {
		return errUnknownUser
	}
	st := s.onenote.store
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, k := range []string{strings.ToLower(u.ID), strings.ToLower(u.UserPrincipalName)} {
		if available {
			delete(st.noOneNote, k)
		} else {
			st.noOneNote[k] = true
		}
	}
	return nil
}

// ClearOneNote removes all of user's (ID or UPN) notebooks, so a test can build its own tree.
func (s *Server) ClearOneNote(user string) error {
	u, ok := s.findUser(user)
	if !ok {
		return errUnknownUser
	}
	st := s.onenote.store
	st.mu.Lock()
	defer st.mu.Unlock()
	ou := st.userLocked(u)
	for id, it := range st.items {
		if it.owner == ou {
			delete(st.items, id)
		}
	}
	for id, r := range st.resources {
		if r.owner == ou {
			delete(st.resources, id)
		}
	}
	ou.notebooks, ou.groups, ou.sections, ou.pages = nil, nil, nil, nil
	return nil
}

// lookup finds u's entity of kind by id; another user's entity is not found.
func (st *oneNoteStore) lookup(u *onUser, kind onKind, id string) *onItem {
	st.mu.RLock()
	defer st.mu.RUnlock()
	it := st.items[id]
	if it == nil || it.kind != kind || it.owner != u {
		return nil
	}
	return it
}
