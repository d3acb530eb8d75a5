package emulator

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// newOneNoteEnv is a test emulator whose OneNote throttle is off unless mutate turns it on.
func newOneNoteEnv(t *testing.T, mutate func(*Config)) *testEnv {
	t.Helper()
	return newTestEnv(t, func(c *Config) {
		c.OneNote.RequestsPerMinute, c.OneNote.Concurrency = -1, -1
		if mutate != nil {
			mutate(c)
		}
	})
}

// notesToken signs user in with scope (plus the OpenID ones) and returns the access token.
func (e *testEnv) notesToken(user, scope string) string {
	e.t.Helper()
	verifier, challenge := pkce()
	q := e.signIn(authParams(challenge, map[string]string{"scope": scope + " openid profile offline_access"}), user)
	form := tokenForm(q.Get("code"), verifier)
	form.Set("scope", scope+" openid offline_access profile")
	status, m := e.token(form)
	if status != http.StatusOK {
		e.t.Fatalf("token: %d %v", status, m)
	}
	return m["access_token"].(string)
}

// graphGet sends GET path (under the emulator's URL) with a bearer token.
func (e *testEnv) graphGet(token, path string) (int, http.Header, string) {
	e.t.Helper()
	u := path
	if !strings.HasPrefix(path, "https://") {
		u = e.url(path)
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.do(req)
}

// odata is a decoded OData answer.
type odata struct {
	Context  string           `json:"@odata.context"`
	NextLink string           `json:"@odata.nextLink"`
	Count    *int             `json:"@odata.count"`
	Value    []map[string]any `json:"value"`
}

// getList GETs a collection and wants 200.
func (e *testEnv) getList(token, path string) odata {
	e.t.Helper()
	status, _, body := e.graphGet(token, path)
	if status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var o odata
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		e.t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
	return o
}

func (e *testEnv) getObject(token, path string) map[string]any {
	e.t.Helper()
	status, _, body := e.graphGet(token, path)
	if status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// wantGraphError checks a OneNote error: status, code, innerError and the Graph headers.
func wantGraphError(t *testing.T, status int, h http.Header, body string, wantStatus int, wantCode string) map[string]any {
	t.Helper()
	if status != wantStatus {
		t.Errorf("status = %d, want %d: %s", status, wantStatus, body)
	}
	var m struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.Error == nil {
		t.Fatalf("not a Graph error (%v): %s", err, body)
	}
	if m.Error["code"] != wantCode {
		t.Errorf("code = %v, want %s: %s", m.Error["code"], wantCode, body)
	}
	inner, _ := m.Error["innerError"].(map[string]any)
	if inner["request-id"] == nil || inner["date"] == nil {
		t.Errorf("innerError lacks request-id or date: %s", body)
	}
	if h.Get("request-id") == "" || h.Get("client-request-id") == "" {
		t.Errorf("missing request-id headers: %v", h)
	}
	return m.Error
}

func names(o odata, key string) []string {
	var out []string
	for _, v := range o.Value {
		out = append(out, v[key].(string))
	}
	return out
}

func idOf(t *testing.T, o odata, key, name string) string {
	t.Helper()
	for _, v := range o.Value {
		if v[key] == name {
			return v["id"].(string)
		}
	}
	t.Fatalf("no %q in %v", name, names(o, key))
	return ""
}

const me = "/v1.0/me/onenote/"

var graphID = regexp.MustCompile(`^1-[0-9a-f]{32}![0-9]+-[0-9A-F]{16}$`)

// TestOneNoteDemoTree walks the demo notebooks with exactly the requests the app's client
// makes, and the other endpoints.
func TestOneNoteDemoTree(t *testing.T) {
	e := newOneNoteEnv(t, nil)
	tok := e.notesToken(alex.ID, "Notes.Read")

	nbs := e.getList(tok, me+"notebooks?$top=100&$skip=0")
	if got := names(nbs, "displayName"); !slices.Equal(got, []string{"Personal", "Work Notes"}) {
		t.Fatalf("notebooks = %v", got)
	}
	if nbs.NextLink != "" || !strings.Contains(nbs.Context, "$metadata#users('"+alex.ID+"')/onenote/notebooks") {
		t.Errorf("nextLink %q, context %q", nbs.NextLink, nbs.Context)
	}
	work := nbs.Value[1]
	workID := work["id"].(string)
	if !graphID.MatchString(workID) || work["isDefault"] != true || nbs.Value[0]["isDefault"] != false {
		t.Errorf("notebook = %v", work)
	}
	links := work["links"].(map[string]any)
	if links["oneNoteWebUrl"].(map[string]any)["href"] == "" || !strings.HasPrefix(links["oneNoteClientUrl"].(map[string]any)["href"].(string), "onenote:") {
		t.Errorf("links = %v", links)
	}
	if self := work["self"].(string); self != e.url("/v1.0/users/"+alex.ID+"/onenote/notebooks/"+workID) {
		t.Errorf("self = %s", self)
	}
	for _, k := range []string{"createdDateTime", "lastModifiedDateTime", "sectionsUrl", "sectionGroupsUrl"} {
		if work[k] == nil {
			t.Errorf("notebook lacks %s", k)
		}
	}

	groups := e.getList(tok, me+"sectionGroups?$expand=parentNotebook,parentSectionGroup&$top=100&$skip=0")
	if got := names(groups, "displayName"); !slices.Equal(got, []string{"Archive", "Old"}) {
		t.Fatalf("section groups = %v", got)
	}
	if groups.Value[0]["parentSectionGroup"] != nil || groups.Value[1]["parentSectionGroup"].(map[string]any)["displayName"] != "Archive" {
		t.Errorf("parentSectionGroup: %v / %v", groups.Value[0]["parentSectionGroup"], groups.Value[1]["parentSectionGroup"])
	}
	if pn := groups.Value[1]["parentNotebook"].(map[string]any); pn["id"] != workID || pn["displayName"] != "Work Notes" || pn["self"] == nil {
		t.Errorf("parentNotebook = %v", pn)
	}

	secs := e.getList(tok, me+"sections?$expand=parentNotebook,parentSectionGroup&$top=100&$skip=0")
	if got := names(secs, "displayName"); !slices.Equal(got, []string{"2023", "2024", "Meetings", "Projects", "Recipes", "Travel"}) {
		t.Fatalf("sections = %v", got)
	}
	if secs.Value[0]["parentSectionGroup"].(map[string]any)["displayName"] != "Old" || secs.Value[2]["parentSectionGroup"] != nil {
		t.Errorf("sections' parentSectionGroup wrong")
	}
	meetings := idOf(t, secs, "displayName", "Meetings")
	sec := e.getObject(tok, me+"sections/"+url.PathEscape(meetings)+"?$expand=parentNotebook,parentSectionGroup")
	if sec["displayName"] != "Meetings" || sec["parentNotebook"].(map[string]any)["displayName"] != "Work Notes" {
		t.Errorf("section = %v", sec)
	}
	if _, ok := sec["parentSectionGroup"]; !ok || sec["parentSectionGroup"] != nil {
		t.Errorf("parentSectionGroup should be null: %v", sec["parentSectionGroup"])
	}

	pages := e.getList(tok, me+"sections/"+meetings+"/pages?pagelevel=true&$top=100&$skip=0")
	if len(pages.Value) != 5 {
		t.Fatalf("pages = %v", names(pages, "title"))
	}
	levels := map[float64]bool{}
	var prev string
	for _, p := range pages.Value {
		levels[p["level"].(float64)] = true
		if _, ok := p["order"].(float64); !ok {
			t.Errorf("page without order: %v", p)
		}
		if m := p["lastModifiedDateTime"].(string); prev != "" && m > prev {
			t.Errorf("pages not by lastModifiedDateTime desc")
		}
		prev = p["lastModifiedDateTime"].(string)
		if p["contentUrl"] != p["self"].(string)+"/content" || p["createdByAppId"] == "" {
			t.Errorf("page = %v", p)
		}
	}
	if !levels[0] || !levels[1] || !levels[2] {
		t.Errorf("levels = %v", levels)
	}
	noLevel := e.getList(tok, me+"sections/"+meetings+"/pages")
	if _, ok := noLevel.Value[0]["level"]; ok {
		t.Errorf("level without pagelevel=true")
	}

	first := idOf(t, pages, "title", "Weekly sync 2024-05-06")
	page := e.getObject(tok, me+"pages/"+first+"?pagelevel=true&$expand=parentSection")
	ps := page["parentSection"].(map[string]any)
	if ps["id"] != meetings || ps["name"] != "Meetings" || ps["self"] == nil || page["level"] != 0.0 || page["order"] != 0.0 {
		t.Errorf("page = %v", page)
	}

	// Every other endpoint, under /me, /users/{id}, /users/{upn} and /users('{upn}').
	archive := idOf(t, groups, "displayName", "Archive")
	for _, prefix := range []string{me, "/v1.0/users/" + alex.ID + "/onenote/", "/v1.0/users/" + alex.UserPrincipalName + "/onenote/", "/v1.0/users('" + alex.UserPrincipalName + "')/onenote/"} {
		if got := names(e.getList(tok, prefix+"notebooks/"+workID+"/sections"), "displayName"); !slices.Equal(got, []string{"Meetings", "Projects"}) {
			t.Errorf("%s notebook sections = %v", prefix, got)
		}
	}
	if got := names(e.getList(tok, me+"notebooks/"+workID+"/sectionGroups"), "displayName"); !slices.Equal(got, []string{"Archive"}) {
		t.Errorf("notebook section groups = %v", got)
	}
	if got := e.getObject(tok, me+"notebooks/"+workID); got["displayName"] != "Work Notes" || !strings.HasSuffix(got["@odata.context"].(string), "/$entity") {
		t.Errorf("notebook = %v", got)
	}
	if got := e.getObject(tok, me+"sectionGroups/"+archive); got["displayName"] != "Archive" {
		t.Errorf("section group = %v", got)
	}
	if got := names(e.getList(tok, me+"sectionGroups/"+archive+"/sections"), "displayName"); !slices.Equal(got, []string{"2024"}) {
		t.Errorf("group sections = %v", got)
	}
	if got := names(e.getList(tok, me+"sectionGroups/"+archive+"/sectionGroups"), "displayName"); !slices.Equal(got, []string{"Old"}) {
		t.Errorf("group groups = %v", got)
	}
	all := e.getList(tok, me+"pages?$top=100")
	if len(all.Value) != 17 {
		t.Errorf("user-wide pages = %d, want 17", len(all.Value))
	}
	nested := e.getList(tok, me+"notebooks?$expand=sections,sectionGroups($expand=sections)")
	sg := nested.Value[1]["sectionGroups"].([]any)[0].(map[string]any)
	if sg["displayName"] != "Archive" || sg["sections"].([]any)[0].(map[string]any)["displayName"] != "2024" {
		t.Errorf("nested expand = %v", sg)
	}

	// Wrong ids and segments.
	// Escaped forms: %21 in ids, %24 in option names and $value.
	if o := e.getList(tok, me+"sections/"+strings.ReplaceAll(meetings, "!", "%21")+"/pages?%24top=2&pagelevel=true"); len(o.Value) != 2 {
		t.Errorf("escaped request: %d pages", len(o.Value))
	}
	status, h, body := e.graphGet(tok, me+"pages/1-00000000000000000000000000000000!1-0000000000000000")
	wantGraphError(t, status, h, body, http.StatusNotFound, "20102")
	status, h, body = e.graphGet(tok, me+"sections/"+first) // a page id as a section
	wantGraphError(t, status, h, body, http.StatusNotFound, "20102")
	status, h, body = e.graphGet(tok, me+"notebooks/"+workID+"/pages")
	wantGraphError(t, status, h, body, http.StatusBadRequest, "20100")
	if c := e.srv.Counters(); c["onenote:notebooks"] != 2 || c["onenote:section:pages"] != 3 || c["onenote:notebook:sections"] != 4 {
		t.Errorf("counters = %v", c)
	}
}

// TestOneNoteContentAndResources checks the output HTML and that resources come back
// byte-identical, from any of the URL forms.
func TestOneNoteContentAndResources(t *testing.T) {
	e := newOneNoteEnv(t, nil)
	tok := e.notesToken(alex.ID, "Notes.Read")
	pages := e.getList(tok, me+"pages?$top=100&$orderby=title")
	design := idOf(t, pages, "title", "Design review: export")

	status, h, html := e.graphGet(tok, me+"pages/"+design+"/content")
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("content: %d %s", status, h.Get("Content-Type"))
	}
	for _, want := range []string{
		`<html lang="en-US">`, `<title>Design review: export</title>`, `<meta name="created" content="`,
		`<body data-absolute-enabled="true" style="font-family:Calibri;font-size:11pt">`,
		`<div data-id="_default" style="position:absolute;left:48px;top:120px;width:624px">`,
		`<span style="font-weight:bold">`, `<span style="font-style:italic">`, `text-decoration:line-through`,
		"<h1", "<h2", "<h3", `<li><span data-tag="to-do">`, `<p data-tag="to-do:completed">`, `data-tag="important"`,
		`data-tag="question"`, `data-tag="to-do,important"`, "<ul>", "<ol>", `<table`, `</p><p>`,
		`font-family:Consolas`, `# not a heading`, `*stars*`,
		`data-src-type="image/png" data-fullres-src="` + e.url("/v1.0/users('"+alex.UserPrincipalName+"')/onenote/resources/"),
		`data-attachment="report.pdf" type="application/pdf" />`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("content lacks %q", want)
		}
	}
	if regexp.MustCompile(`<object[^>]*></object>`).MatchString(html) || !regexp.MustCompile(`<object [^>]*/>`).MatchString(html) {
		t.Errorf("<object> is not self-closing")
	}
	if !regexp.MustCompile(`<td[^>]*><img [^>]*/><img [^>]*/></td>`).MatchString(html) {
		t.Errorf("no cell with two images:\n%s", html)
	}

	// Images and the attachment, by every URL form: the same bytes as OneNoteResource.
	srcs := regexp.MustCompile(`(?:src|data-fullres-src|data)="([^"]+/resources/([^/"]+)/\$value)"`).FindAllStringSubmatch(html, -1)
	if len(srcs) != 7 { // 3 images with full-resolution twins, 1 attachment
		t.Fatalf("resources in content: %d", len(srcs))
	}
	seen := map[string]bool{}
	for i, m := range srcs {
		want, ok := e.srv.OneNoteResource(m[2])
		if !ok || seen[m[2]] {
			t.Fatalf("resource %s: known %v, duplicate %v", m[2], ok, seen[m[2]])
		}
		seen[m[2]] = true
		u := m[1]
		if i%2 == 1 {
			u = e.url(me + "resources/" + m[2] + "/content")
		}
		status, h, got := e.graphGet(tok, u)
		if status != http.StatusOK || got != string(want) || h.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("GET %s: %d %s, %d bytes, want %d", u, status, h.Get("Content-Type"), len(got), len(want))
		}
		if strings.HasPrefix(string(want), "%PDF-") {
			continue
		}
		img, err := png.Decode(bytes.NewReader(want))
		if err != nil || len(want) < 500 || len(want) > 40000 {
			t.Errorf("resource %s: %v, %d bytes", m[2], err, len(want))
		} else if img.Bounds().Dx() < 64 {
			t.Errorf("image too small: %v", img.Bounds())
		}
	}

	// Some image has an empty alt; some page's divs are not in top-to-bottom order.
	emptyAlt, unordered := false, false
	for _, p := range pages.Value {
		_, _, c := e.graphGet(tok, me+"pages/"+p["id"].(string)+"/content")
		emptyAlt = emptyAlt || strings.Contains(c, `alt=""`)
		tops := regexp.MustCompile(`<div [^>]*top:(\d+)px`).FindAllStringSubmatch(c, -1)
		for i := 1; i < len(tops); i++ {
			a, _ := strconv.Atoi(tops[i-1][1])
			b, _ := strconv.Atoi(tops[i][1])
			unordered = unordered || b < a
		}
	}
	if !emptyAlt || !unordered {
		t.Errorf("empty alt %v, divs out of order %v", emptyAlt, unordered)
	}

	// includeIDs adds ids; unknown options are refused.
	_, _, withIDs := e.graphGet(tok, me+"pages/"+design+"/content?includeIDs=true")
	if !strings.Contains(withIDs, `<p id="p:{`) {
		t.Errorf("includeIDs=true added no ids")
	}
	status, h, body := e.graphGet(tok, me+"pages/"+design+"/content?$select=title")
	wantGraphError(t, status, h, body, http.StatusBadRequest, "20108")

	// Content and ids are deterministic: a second emulator on the same state serves the same.
	e2 := newOneNoteEnv(t, nil)
	_, _, again := e2.graphGet(e2.notesToken(alex.ID, "Notes.Read"), me+"pages/"+design+"/content")
	if strings.ReplaceAll(again, e2.srv.URL(), "") != strings.ReplaceAll(html, e.srv.URL(), "") {
		t.Errorf("content differs between two emulators on the same state")
	}
}

// TestOneNotePaging pages through a 1,000-page section and checks the query options.
func TestOneNotePaging(t *testing.T) {
	e := newOneNoteEnv(t, nil)
	secID, err := e.srv.AddOneNoteSection(alex.UserPrincipalName, "Big", "Group/Thousand", 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	tok := e.notesToken(alex.ID, "Notes.Read")
	base := me + "sections/" + secID + "/pages"

	seen := map[string]bool{}
	orders := map[float64]bool{}
	for skip := 0; ; skip += 100 {
		o := e.getList(tok, base+"?pagelevel=true&$top=100&$skip="+strconv.Itoa(skip))
		if o.NextLink != "" {
			t.Fatalf("nextLink with $top: %s", o.NextLink)
		}
		for _, p := range o.Value {
			seen[p["id"].(string)] = true
			orders[p["order"].(float64)] = true
		}
		if len(o.Value) < 100 {
			break
		}
	}
	if len(seen) != 1000 || len(orders) != 1000 {
		t.Fatalf("paged %d pages, %d orders", len(seen), len(orders))
	}

	// Without $top: 20 at a time and a nextLink that keeps the other options.
	o := e.getList(tok, base+"?$select=title&$orderby=title")
	if len(o.Value) != 20 || !strings.Contains(o.NextLink, "$skip=20") || !strings.Contains(o.NextLink, "$select=title") {
		t.Fatalf("first page: %d, nextLink %q", len(o.Value), o.NextLink)
	}
	if _, ok := o.Value[0]["self"]; ok || o.Value[0]["id"] == nil || o.Value[0]["title"] != "Thousand 0001: kick-off" {
		t.Errorf("$select=title gave %v", o.Value[0])
	}
	next := e.getList(tok, o.NextLink)
	if next.Value[0]["title"] != "Thousand 0021: ideas" {
		t.Errorf("second page starts with %v", next.Value[0]["title"])
	}
	last := e.getList(tok, base+"?$skip=990")
	if len(last.Value) != 10 || last.NextLink != "" {
		t.Errorf("last page: %d, nextLink %q", len(last.Value), last.NextLink)
	}

	byOrder := e.getList(tok, base+"?pagelevel=true&$orderby=order%20desc&$top=3&$count=true")
	if byOrder.Value[0]["order"] != 999.0 || byOrder.Count == nil || *byOrder.Count != 1000 {
		t.Errorf("$orderby=order desc: %v, count %v", byOrder.Value[0]["order"], byOrder.Count)
	}
	filtered := e.getList(tok, base+"?$filter="+url.QueryEscape("title eq 'Thousand 0500: follow-up'"))
	if len(filtered.Value) != 1 {
		t.Errorf("$filter gave %d", len(filtered.Value))
	}
	withParents := e.getList(tok, base+"?$top=1&$expand=parentNotebook,parentSection")
	if withParents.Value[0]["parentNotebook"].(map[string]any)["displayName"] != "Big" ||
		withParents.Value[0]["parentSection"].(map[string]any)["name"] != "Thousand" {
		t.Errorf("page expand = %v", withParents.Value[0])
	}

	for _, c := range []struct{ query, code string }{
		{"?$top=101", "20129"},
		{"?$top=-1", "20128"},
		{"?$foo=1", "20108"},
		{"?$search=x", "20108"},
		{"?$select=nope", "20145"},
		{"?$orderby=displayName", "20127"},
		{"?$expand=sections", "20103"},
		{"?$filter=" + url.QueryEscape("startswith(title,'a')"), "20106"},
	} {
		status, h, body := e.graphGet(tok, base+c.query)
		wantGraphError(t, status, h, body, http.StatusBadRequest, c.code)
	}
	status, h, body := e.graphGet(tok, me+"notebooks?pagelevel=true")
	wantGraphError(t, status, h, body, http.StatusBadRequest, "20104")
	status, h, body = e.graphGet(tok, me+"notebooks?$expand=sectionGroups($expand=parentNotebook)")
	wantGraphError(t, status, h, body, http.StatusBadRequest, "20142")
	status, h, body = e.graphGet(tok, me+"pages/"+byOrder.Value[0]["id"].(string)+"?$top=1")
	wantGraphError(t, status, h, body, http.StatusBadRequest, "20108")

	// The section groups path made a group; with more than 10 sections, the user-wide page
	// list answers 20266, and a higher threshold lets it through.
	groups := e.getList(tok, me+"sectionGroups")
	if !slices.Contains(names(groups, "displayName"), "Group") {
		t.Errorf("groups = %v", names(groups, "displayName"))
	}
	for i := range 5 {
		if _, err := e.srv.AddOneNoteSection(alex.ID, "Big", "Extra "+strconv.Itoa(i), 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	status, h, body = e.graphGet(tok, me+"pages")
	wantGraphError(t, status, h, body, http.StatusBadRequest, "20266")
	e.srv.OneNoteConfigure(OneNoteSettings{RequestsPerMinute: -1, Concurrency: -1, TooManySectionsThreshold: 20})
	if o := e.getList(tok, me+"pages?$top=5"); len(o.Value) != 5 {
		t.Errorf("pages with a higher threshold: %d", len(o.Value))
	}
	if _, err := e.srv.AddOneNoteSection(alex.ID, "Big", "Group/Thousand", 1, 0); err == nil {
		t.Errorf("a duplicate section was accepted")
	}
}

// TestOneNoteAccess checks scopes, other users' ids and the user without OneNote.
func TestOneNoteAccess(t *testing.T) {
	e := newOneNoteEnv(t, nil)
	// Scopes first (a token's scp holds every scope consented so far): none of the Notes read
	// scopes, then Notes.Create, which only creates.
	for _, scope := range []string{"User.Read", "Notes.Create"} {
		status, h, body := e.graphGet(e.notesToken(alex.ID, scope), me+"notebooks")
		er := wantGraphError(t, status, h, body, http.StatusForbidden, "40004")
		if !strings.HasPrefix(er["message"].(string), "The OAuth token provided does not have the necessary scopes to complete the request.") {
			t.Errorf("message = %v", er["message"])
		}
	}
	alexTok := e.notesToken(alex.ID, "Notes.Read")
	priyaTok := e.notesToken(priya.ID, "Notes.ReadWrite")

	// Priya's ids are not Alex's: 404 20102, for entities and resources.
	pp := e.getList(priyaTok, me+"pages?$top=1&$orderby=title")
	pid := pp.Value[0]["id"].(string)
	_, _, content := e.graphGet(priyaTok, me+"pages/"+pid+"/content")
	res := regexp.MustCompile(`/resources/([^/"]+)/\$value`).FindStringSubmatch(content)
	if res == nil {
		t.Fatalf("no resource in Priya's page")
	}
	for _, p := range []string{"pages/" + pid, "pages/" + pid + "/content", "resources/" + res[1] + "/$value"} {
		status, h, body := e.graphGet(alexTok, me+p)
		wantGraphError(t, status, h, body, http.StatusNotFound, "20102")
	}
	status, _, _ := e.graphGet(alexTok, "/v1.0/users/"+priya.ID+"/onenote/notebooks")
	if status != http.StatusForbidden {
		t.Errorf("another user's notebooks: %d", status)
	}
	if a, p := e.getList(alexTok, me+"notebooks"), e.getList(priyaTok, me+"notebooks"); a.Value[0]["id"] == p.Value[0]["id"] {
		t.Errorf("two users share notebook ids")
	}

	st, m := e.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret}, "scope": {"https://graph.microsoft.com/.default"}})
	if st != http.StatusOK {
		t.Fatalf("client credentials: %d %v", st, m)
	}
	status, h, body := e.graphGet(m["access_token"].(string), me+"notebooks")
	wantGraphError(t, status, h, body, http.StatusForbidden, "40004")
	status, h, body = e.graphGet("", me+"notebooks")
	wantGraphError(t, status, h, body, http.StatusUnauthorized, "InvalidAuthenticationToken")

	// Zoë has no OneDrive for Business, hence no OneNote.
	zoeTok := e.notesToken(zoe.ID, "Notes.Read")
	status, h, body = e.graphGet(zoeTok, me+"notebooks")
	wantGraphError(t, status, h, body, http.StatusNotFound, "30108")
	if _, err := e.srv.AddOneNoteSection(zoe.ID, "N", "S", 1, 0); err == nil {
		t.Errorf("AddOneNoteSection for a user without OneNote succeeded")
	}
	if err := e.srv.SetOneNoteAvailable(zoe.UserPrincipalName, true); err != nil {
		t.Fatal(err)
	}
	if o := e.getList(zoeTok, me+"notebooks"); len(o.Value) != 2 {
		t.Errorf("Zoë's notebooks after SetOneNoteAvailable: %d", len(o.Value))
	}
}

// TestOneNoteThrottle checks the per-app-and-user limits with a sped-up clock.
func TestOneNoteThrottle(t *testing.T) {
	e := newTestEnv(t, func(c *Config) {
		c.OneNote = OneNoteSettings{RequestsPerMinute: 10, ClockSpeed: 100} // a 0.6 s window
	})
	tok := e.notesToken(alex.ID, "Notes.Read")
	priyaTok := e.notesToken(priya.ID, "Notes.Read")

	for i := range 10 {
		if status, _, body := e.graphGet(tok, me+"notebooks"); status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	status, h, body := e.graphGet(tok, me+"notebooks")
	wantGraphError(t, status, h, body, http.StatusTooManyRequests, "20166")
	if h.Get("Retry-After") != "" {
		t.Errorf("429 with Retry-After %q", h.Get("Retry-After"))
	}
	if status, _, _ := e.graphGet(priyaTok, me+"notebooks"); status != http.StatusOK {
		t.Errorf("another user is throttled too: %d", status)
	}
	time.Sleep(650 * time.Millisecond)
	if status, _, body := e.graphGet(tok, me+"notebooks"); status != http.StatusOK {
		t.Errorf("after the window: %d %s", status, body)
	}
	st := e.srv.OneNoteStats()
	key := strings.ToLower(DemoClientID) + "|" + alex.ID
	if st.Throttled != 1 || e.srv.Counters()["onenote:429"] != 1 || st.ByClient[key] != 12 || st.ThrottledBy[key] != 1 {
		t.Errorf("stats = %+v", st)
	}

	// Concurrency: 5 in flight (held by injected delays), the others get 429 at once.
	e.srv.OneNoteConfigure(OneNoteSettings{RequestsPerMinute: -1})
	e.srv.ResetOneNoteStats()
	e.srv.FailNext(Fault{Endpoint: "onenote", Delay: 600 * time.Millisecond, Count: 5})
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, _ := e.graphGet(tok, me+"notebooks")
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 5 || statuses[429] != 3 {
		t.Errorf("statuses = %v", statuses)
	}
	if st := e.srv.OneNoteStats(); st.PeakInFlight != 5 || st.Throttled != 3 {
		t.Errorf("peak %d, throttled %d", st.PeakInFlight, st.Throttled)
	}
}

// TestOneNoteFaults checks FailNext for OneNote and the random injection rates, through
// the Go API and the control API.
func TestOneNoteFaults(t *testing.T) {
	e := newOneNoteEnv(t, nil)
	tok := e.notesToken(alex.ID, "Notes.Read")
	pid := idOf(t, e.getList(tok, me+"pages?$top=100"), "title", "Design review: export")
	_, _, content := e.graphGet(tok, me+"pages/"+pid+"/content")
	res := regexp.MustCompile(`/resources/([^/"]+)/\$value`).FindStringSubmatch(content)[1]

	e.srv.FailNext(Fault{Endpoint: "onenote:content", Status: 503})
	e.srv.FailNext(Fault{Endpoint: "onenote:resource", Error: "20166"})
	e.srv.FailNext(Fault{Endpoint: "onenote", Status: 500, Error: "10001", RetryAfter: 7})
	status, h, body := e.graphGet(tok, me+"pages/"+pid+"/content")
	wantGraphError(t, status, h, body, http.StatusServiceUnavailable, "10002")
	status, h, body = e.graphGet(tok, me+"resources/"+res+"/$value")
	wantGraphError(t, status, h, body, http.StatusTooManyRequests, "20166")
	status, h, body = e.graphGet(tok, me+"notebooks")
	wantGraphError(t, status, h, body, http.StatusInternalServerError, "10001")
	if h.Get("Retry-After") != "7" {
		t.Errorf("Retry-After = %q", h.Get("Retry-After"))
	}
	if status, _, _ := e.graphGet(tok, me+"pages/"+pid+"/content"); status != http.StatusOK {
		t.Errorf("after the faults: %d", status)
	}

	// Random rates over the control API: repeatable, both kinds show up.
	post := func(path, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.url(path), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		status, _, b := e.do(req)
		return status, b
	}
	run := func() []int {
		if st, b := post("/_emulator/onenote/fault-rates", `{"p429":0.3,"p503":0.2}`); st != http.StatusNoContent {
			t.Fatalf("fault-rates: %d %s", st, b)
		}
		var out []int
		for range 30 {
			status, h, _ := e.graphGet(tok, me+"notebooks")
			if status == http.StatusTooManyRequests && h.Get("Retry-After") != "" {
				t.Errorf("injected 429 with Retry-After")
			}
			out = append(out, status)
		}
		return out
	}
	a, b := run(), run()
	if !slices.Equal(a, b) || !slices.Contains(a, 429) || !slices.Contains(a, 503) || !slices.Contains(a, 200) {
		t.Errorf("runs: %v / %v", a, b)
	}
	e.srv.SetOneNoteFaultRates(0, 0)

	// Control API: clock, sections, stats, bad input.
	if st, b := post("/_emulator/onenote/clock", `{"speed":100}`); st != http.StatusNoContent {
		t.Errorf("clock: %d %s", st, b)
	}
	st, body := post("/_emulator/onenote/sections", `{"userID":"`+alex.UserPrincipalName+`","notebook":"Bench","section":"G1/S1","pages":3,"imagesPerPage":1}`)
	var created map[string]string
	if st != http.StatusCreated || json.Unmarshal([]byte(body), &created) != nil || !graphID.MatchString(created["id"]) {
		t.Fatalf("sections: %d %s", st, body)
	}
	if o := e.getList(tok, me+"sections/"+created["id"]+"/pages"); len(o.Value) != 3 {
		t.Errorf("created section has %d pages", len(o.Value))
	}
	if st, _ := post("/_emulator/onenote/sections", `{"userID":"nobody@x.example","notebook":"a","section":"b"}`); st != http.StatusNotFound {
		t.Errorf("unknown user: %d", st)
	}
	if st, _ := post("/_emulator/onenote/fault-rates", `{"p429":0.9,"p503":0.9}`); st != http.StatusBadRequest {
		t.Errorf("rates over 1: %d", st)
	}
	status, _, body = e.get(e.url("/_emulator/onenote/stats"))
	var stats OneNoteStats
	if status != http.StatusOK || json.Unmarshal([]byte(body), &stats) != nil || stats.Injected429 == 0 || stats.Injected503 == 0 || stats.Faults != 3 {
		t.Errorf("stats: %d %s", status, body)
	}
	if st, _ := post("/_emulator/onenote/user", `{"userID":"`+alex.ID+`","clear":true}`); st != http.StatusNoContent {
		t.Errorf("user clear: %d", st)
	}
	if o := e.getList(tok, me+"notebooks"); len(o.Value) != 0 {
		t.Errorf("notebooks after clear: %d", len(o.Value))
	}
	if st, _ := post("/_emulator/onenote/user", `{"userID":"`+alex.ID+`","available":false}`); st != http.StatusNoContent {
		t.Errorf("user available: %d", st)
	}
	status, h, body = e.graphGet(tok, me+"notebooks")
	wantGraphError(t, status, h, body, http.StatusNotFound, "30108")
	if st, _ := post("/_emulator/onenote/reset-stats", ``); st != http.StatusNoContent {
		t.Errorf("reset-stats: %d", st)
	}
	if e.srv.OneNoteStats().Requests != 0 {
		t.Errorf("stats not reset")
	}
}

// TestOneNoteCustomPage serves hostile HTML verbatim and its resources by id.
func TestOneNoteCustomPage(t *testing.T) {
	e := newOneNoteEnv(t, func(c *Config) { c.OneNote.SkipDemoData = true })
	tok := e.notesToken(alex.ID, "Notes.Read")
	if o := e.getList(tok, me+"notebooks"); len(o.Value) != 0 {
		t.Fatalf("SkipDemoData: %d notebooks", len(o.Value))
	}
	sec, err := e.srv.AddOneNoteSection(alex.ID, "Hostile", "Pages", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ids := e.srv.OneNoteSectionIDs(alex.UserPrincipalName); !slices.Equal(ids, []string{sec}) || e.srv.OneNoteSectionIDs(zoe.ID) != nil {
		t.Errorf("OneNoteSectionIDs = %v", ids)
	}
	img := []byte("\x89PNG\r\n\x1a\nnot really")
	html := `<html><body><script>alert(1)</script><img src="` + e.srv.OneNoteResourceURL(alex.UserPrincipalName, "evil-1") + `" onerror="x()"><object data="../../x"/></body></html>`
	pid, err := e.srv.AddOneNotePage(alex.ID, sec, `"><script>`, html, map[string][]byte{"evil-1": img}, OneNotePageOptions{Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, got := e.graphGet(tok, me+"pages/"+pid+"/content"); got != html {
		t.Errorf("content not verbatim: %s", got)
	}
	if _, _, got := e.graphGet(tok, e.srv.OneNoteResourceURL(alex.UserPrincipalName, "evil-1")); got != string(img) {
		t.Errorf("resource = %q", got)
	}
	if got, ok := e.srv.OneNoteResource("evil-1"); !ok || !bytes.Equal(got, img) {
		t.Errorf("OneNoteResource = %q %v", got, ok)
	}
	if p := e.getObject(tok, me+"pages/"+pid+"?pagelevel=true"); p["title"] != `"><script>` || p["level"] != 1.0 {
		t.Errorf("page = %v", p)
	}
	if _, err := e.srv.AddOneNotePage(alex.ID, sec, "again", "", map[string][]byte{"evil-1": nil}); err == nil {
		t.Errorf("a duplicate resource id was accepted")
	}
	if _, err := e.srv.AddOneNotePage(priya.ID, sec, "x", "", nil); err == nil {
		t.Errorf("a page in another user's section was accepted")
	}
	if err := e.srv.ClearOneNote(alex.ID); err != nil {
		t.Fatal(err)
	}
	if o := e.getList(tok, me+"sections"); len(o.Value) != 0 {
		t.Errorf("ClearOneNote left %d sections", len(o.Value))
	}
}

// TestOneNoteIncrementalConsent: a user who consented to User.ReadBasic.All is asked for
// Notes.Read only; before that, redeeming the refresh token for Notes.Read fails with
// AADSTS65001, and afterwards it works.
func TestOneNoteIncrementalConsent(t *testing.T) {
	e := newOneNoteEnv(t, nil)
	verifier, challenge := pkce()
	q := e.signIn(authParams(challenge, map[string]string{"scope": "User.ReadBasic.All openid profile offline_access"}), alex.ID)
	form := tokenForm(q.Get("code"), verifier)
	form.Set("scope", "User.ReadBasic.All openid offline_access profile")
	status, m := e.token(form)
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, m)
	}
	rt := m["refresh_token"].(string)
	refresh := func(scope string) (int, map[string]any) {
		return e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {DemoClientID},
			"client_secret": {DemoClientSecret}, "client_info": {"1"}, "scope": {scope}})
	}
	status, m = refresh("Notes.Read openid offline_access profile")
	wantEntraError(t, status, m, http.StatusBadRequest, "invalid_grant", 65001)
	if !strings.Contains(m["error_description"].(string), "has not consented to use the application") {
		t.Errorf("error_description = %v", m["error_description"])
	}

	// Back to /authorize with the new scope: the consent page lists Notes.Read, not the
	// permission already granted.
	_, challenge = pkce()
	status, _, page := e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, map[string]string{"scope": "Notes.Read openid profile offline_access"}).Encode()))
	if status != http.StatusOK {
		t.Fatalf("authorize: %d", status)
	}
	status, _, page = e.postForm(e.tenantPath("/login"), url.Values{"request": {hiddenRequest(t, page)}, "user": {alex.ID}})
	if status != http.StatusOK || !strings.Contains(page, `id="consent-form"`) {
		t.Fatalf("no consent page: %d", status)
	}
	if !strings.Contains(page, `data-scope="Notes.Read"`) || !strings.Contains(page, "Read your OneNote notebooks") || strings.Contains(page, "User.ReadBasic.All") {
		t.Errorf("consent page scopes:\n%s", regexp.MustCompile(`(?s)<ul class="scopes".*?</ul>`).FindString(page))
	}
	status, _, _ = e.postForm(e.tenantPath("/consent"), url.Values{"request": {hiddenRequest(t, page)}, "action": {"accept"}})
	if status != http.StatusFound {
		t.Fatalf("consent: %d", status)
	}

	// The old refresh token now redeems for Notes.Read, and the token reads notebooks.
	status, m = refresh("Notes.Read openid offline_access profile")
	if status != http.StatusOK {
		t.Fatalf("refresh for Notes.Read: %d %v", status, m)
	}
	scp := jwtClaims(t, m["access_token"].(string))["scp"].(string)
	if !strings.Contains(scp, "Notes.Read") || !strings.Contains(scp, "User.ReadBasic.All") {
		t.Errorf("scp = %q", scp)
	}
	if o := e.getList(m["access_token"].(string), me+"notebooks"); len(o.Value) != 2 {
		t.Errorf("notebooks: %d", len(o.Value))
	}
}
