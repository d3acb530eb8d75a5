package emulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// renderCtx is what rendering an answer needs to know about the request.
type renderCtx struct {
	base   string // the emulator's URL as the client reached it
	store  *oneNoteStore
	user   *onUser
	userID string
	upn    string
	name   string
}

// odataQuery is a parsed set of OData query options.
type odataQuery struct {
	top, skip  int
	hasTop     bool
	sel        []string
	order      []orderTerm
	expand     []*expandNode
	filter     *filterTerm
	count      bool
	pagelevel  bool
	includeIDs bool
}

type orderTerm struct {
	field string // canonical: displayName, title, createdDateTime, lastModifiedDateTime, order
	desc  bool
}

type expandNode struct {
	name      string
	nested    []*expandNode
	levelsMax bool
}

type filterTerm struct {
	field, value string
	negate       bool
}

// odataErr is OneNote's 400 with a code.
func odataErr(code, msg string) *graphError {
	return &graphError{http.StatusBadRequest, code, msg}
}

// Query options the OneNote API knows, by lower-case name without "$".
var odataOptionNames = map[string]bool{
	"top": true, "skip": true, "select": true, "orderby": true, "expand": true, "filter": true,
	"count": true, "search": true, "levels": true, "format": true, "skiptoken": true,
}

// parseODataQuery parses q for an endpoint: coll for a collection, kind the type of its
// items, pagelevelOK where pagelevel=true is allowed, content for /content.
func parseODataQuery(q url.Values, coll bool, kind onKind, pagelevelOK, content bool) (*odataQuery, *graphError) {
	out := &odataQuery{}
	seen := map[string]bool{}
	for rawKey, vals := range q {
		key := strings.ToLower(rawKey)
		dollar := strings.HasPrefix(key, "$")
		name := strings.TrimPrefix(key, "$")
		if !odataOptionNames[name] {
			switch {
			case !dollar && (name == "pagelevel" || name == "includeids" || name == "preauthenticated"):
			case dollar:
				return nil, odataErr("20108", "The query parameter '"+rawKey+"' is not supported.")
			default:
				continue // custom query options are ignored, as by Graph
			}
		}
		if seen[name] || len(vals) != 1 {
			return nil, odataErr("20100", "The query parameter '"+rawKey+"' is specified more than once.")
		}
		seen[name] = true
		v := vals[0]
		switch name {
		case "search":
			return nil, odataErr("20108", "The search query option is not supported any more.")
		case "pagelevel":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, odataErr("20100", "The value of pagelevel must be true or false.")
			}
			if !pagelevelOK && b {
				return nil, odataErr("20104", "The pagelevel query option is supported only when querying for the pages collection in a section or for a specific page.")
			}
			out.pagelevel = b
			continue
		case "includeids", "preauthenticated":
			if !content {
				return nil, odataErr("20108", "The query parameter '"+rawKey+"' is not supported on this resource.")
			}
			out.includeIDs = name == "includeids" && strings.EqualFold(v, "true")
			continue
		}
		if content {
			return nil, odataErr("20108", "The query parameter '"+rawKey+"' is not supported on this resource.")
		}
		collOnly := name == "top" || name == "skip" || name == "orderby" || name == "filter" || name == "count" || name == "skiptoken"
		if collOnly && !coll {
			return nil, odataErr("20108", "The query parameter '"+rawKey+"' is not supported on a single entity.")
		}
		var gerr *graphError
		switch name {
		case "top":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, odataErr("20128", "The OData query has a syntax error: '"+v+"' is not a valid value for $top.")
			}
			if n > 100 {
				return nil, oneNoteError("20129")
			}
			out.top, out.hasTop = n, true
		case "skip":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, odataErr("20128", "The OData query has a syntax error: '"+v+"' is not a valid value for $skip.")
			}
			out.skip = n
		case "count":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, odataErr("20128", "The OData query has a syntax error: '"+v+"' is not a valid value for $count.")
			}
			out.count = b
		case "select":
			out.sel, gerr = parseSelect(v, kind)
		case "orderby":
			out.order, gerr = parseOrderBy(v, kind)
		case "expand":
			out.expand, gerr = parseExpand(v, kind, "")
		case "filter":
			out.filter, gerr = parseFilter(v, kind)
		case "levels", "format", "skiptoken":
			gerr = odataErr("20111", "The query option '"+rawKey+"' is not supported on this request.")
		}
		if gerr != nil {
			return nil, gerr
		}
	}
	if !out.hasTop {
		out.top = 20
	}
	return out, nil
}

// entityFields are each kind's structural properties, in answer order.
var entityFields = map[onKind][]string{
	kNotebook:     {"id", "self", "createdDateTime", "displayName", "lastModifiedDateTime", "isDefault", "userRole", "isShared", "sectionsUrl", "sectionGroupsUrl", "createdBy", "lastModifiedBy", "links"},
	kSectionGroup: {"id", "self", "createdDateTime", "displayName", "lastModifiedDateTime", "sectionsUrl", "sectionGroupsUrl", "createdBy", "lastModifiedBy"},
	kSection:      {"id", "self", "createdDateTime", "displayName", "lastModifiedDateTime", "isDefault", "pagesUrl", "createdBy", "lastModifiedBy", "links"},
	kPage:         {"id", "self", "createdDateTime", "title", "createdByAppId", "contentUrl", "lastModifiedDateTime", "links", "level", "order"},
}

// navigations are each kind's expandable properties and the kind they lead to.
var navigations = map[onKind]map[string]onKind{
	kNotebook:     {"sections": kSection, "sectionGroups": kSectionGroup},
	kSectionGroup: {"sections": kSection, "sectionGroups": kSectionGroup, "parentNotebook": kNotebook, "parentSectionGroup": kSectionGroup},
	kSection:      {"parentNotebook": kNotebook, "parentSectionGroup": kSectionGroup},
	kPage:         {"parentNotebook": kNotebook, "parentSection": kSection, "parentSectionGroup": kSectionGroup},
}

func isChildNav(name string) bool { return name == "sections" || name == "sectionGroups" }

func parseSelect(v string, kind onKind) ([]string, *graphError) {
	var out []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(entityFields[kind], f) {
			if _, nav := navigations[kind][f]; !nav {
				return nil, odataErr("20145", "The select or expand expression contains an invalid term: '"+f+"'.")
			}
		}
		out = append(out, f)
	}
	return out, nil
}

func parseOrderBy(v string, kind onKind) ([]orderTerm, *graphError) {
	var out []orderTerm
	for _, term := range strings.Split(v, ",") {
		fields := strings.Fields(term)
		if len(fields) == 0 || len(fields) > 2 {
			return nil, odataErr("20128", "The OData query has a syntax error in $orderby: '"+term+"'.")
		}
		t := orderTerm{}
		if len(fields) == 2 {
			switch strings.ToLower(fields[1]) {
			case "asc":
			case "desc":
				t.desc = true
			default:
				return nil, odataErr("20128", "The OData query has a syntax error in $orderby: '"+term+"'.")
			}
		}
		switch f := fields[0]; {
		case f == "createdDateTime" || f == "lastModifiedDateTime" || f == "createdTime" || f == "lastModifiedTime":
			t.field = strings.Replace(f, "Time", "DateTime", 1)
			t.field = strings.Replace(t.field, "DateDateTime", "DateTime", 1)
		case kind == kPage && (f == "title" || f == "order"):
			t.field = f
		case kind != kPage && (f == "name" || f == "displayName"):
			t.field = "displayName"
		default:
			return nil, odataErr("20127", "The request specifies an unknown property in $orderby: '"+f+"'.")
		}
		out = append(out, t)
	}
	return out, nil
}

// parseExpand parses "sections,sectionGroups($expand=sections)". under is "child" or
// "parent" inside a nested expansion: a parent's children and a child's parents are refused
// (20142), as by OneNote.
func parseExpand(v string, kind onKind, under string) ([]*expandNode, *graphError) {
	var out []*expandNode
	for _, item := range splitTopLevel(v, ',') {
		item = strings.TrimSpace(item)
		name, opts, hasOpts := strings.Cut(item, "(")
		name = strings.TrimSpace(name)
		target, ok := navigations[kind][name]
		if !ok {
			if name != "" && slices.Contains(entityFields[kind], name) {
				return nil, odataErr("20144", "The expand expression contains a non-navigation property: '"+name+"'.")
			}
			if _, known := navigations[kSectionGroup][name]; known || name == "parentSection" {
				return nil, odataErr("20103", "The expand query '"+name+"' is not supported for this request.")
			}
			return nil, odataErr("20145", "The select or expand expression contains an invalid term: '"+name+"'.")
		}
		if (under == "child" && !isChildNav(name)) || (under == "parent" && isChildNav(name)) {
			return nil, odataErr("20142", "Expanding '"+name+"' is not supported here: a parent of child entities or a child of parent entities cannot be expanded.")
		}
		n := &expandNode{name: name}
		if hasOpts {
			if !strings.HasSuffix(opts, ")") {
				return nil, odataErr("20128", "The OData query has a syntax error in $expand: '"+item+"'.")
			}
			nestedUnder := "parent"
			if isChildNav(name) {
				nestedUnder = "child"
			}
			for _, o := range splitTopLevel(strings.TrimSuffix(opts, ")"), ';') {
				k, val, _ := strings.Cut(strings.TrimSpace(o), "=")
				switch strings.ToLower(strings.TrimPrefix(k, "$")) {
				case "expand":
					nested, gerr := parseExpand(val, target, nestedUnder)
					if gerr != nil {
						return nil, gerr
					}
					n.nested = nested
				case "levels":
					if val != "max" {
						if l, err := strconv.Atoi(val); err != nil || l < 1 {
							return nil, odataErr("20128", "The OData query has a syntax error in $levels: '"+val+"'.")
						}
					}
					n.levelsMax = isChildNav(name)
				default:
					return nil, odataErr("20145", "The select or expand expression contains an invalid term: '"+o+"'.")
				}
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// splitTopLevel splits s at sep outside parentheses.
func splitTopLevel(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// parseFilter understands "<property> eq '<text>'" and "ne" on id, displayName and title.
func parseFilter(v string, kind onKind) (*filterTerm, *graphError) {
	unsupported := odataErr("20106", "The request contains a query operator that is not supported: only <property> eq|ne '<text>' on id, displayName or title is emulated.")
	prop, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	op, lit, _ := strings.Cut(strings.TrimSpace(rest), " ")
	lit = strings.TrimSpace(lit)
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' || (op != "eq" && op != "ne") {
		return nil, unsupported
	}
	switch {
	case prop == "id", kind == kPage && prop == "title", kind != kPage && (prop == "displayName" || prop == "name"):
	default:
		return nil, unsupported
	}
	return &filterTerm{field: prop, value: strings.ReplaceAll(lit[1:len(lit)-1], "''", "'"), negate: op == "ne"}, nil
}

func (f *filterTerm) match(it *onItem) bool {
	v := it.name
	if f.field == "id" {
		v = it.id
	}
	return (v == f.value) != f.negate
}

// sortItems orders items by terms, or by OneNote's default: pages by lastModifiedDateTime
// desc, everything else by name.
func sortItems(items []*onItem, kind onKind, terms []orderTerm) {
	if len(terms) == 0 {
		if kind == kPage {
			terms = []orderTerm{{field: "lastModifiedDateTime", desc: true}}
		} else {
			terms = []orderTerm{{field: "displayName"}}
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		for _, t := range terms {
			var c int
			switch t.field {
			case "displayName", "title":
				c = cmp.Compare(strings.ToLower(a.name), strings.ToLower(b.name))
			case "createdDateTime":
				c = a.created.Compare(b.created)
			case "lastModifiedDateTime":
				c = a.modified.Compare(b.modified)
			case "order":
				c = cmp.Compare(a.order, b.order)
				if c == 0 && a.section != b.section {
					c = cmp.Compare(a.section.id, b.section.id)
				}
			}
			if t.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return a.id < b.id
	})
}

var pluralNames = map[onKind]string{kNotebook: "notebooks", kSectionGroup: "sectionGroups", kSection: "sections", kPage: "pages"}

// serveOneNoteJSON answers the metadata endpoints.
func (s *Server) serveOneNoteJSON(w http.ResponseWriter, r *http.Request, rc *renderCtx, route oneNoteRoute) int {
	pagelevelOK := route.op == "section:pages" || route.op == "page"
	q, gerr := parseODataQuery(r.URL.Query(), route.coll, route.kind, pagelevelOK, false)
	if gerr != nil {
		s.writeGraphError(w, r, gerr, 0)
		return gerr.status
	}
	st := s.onenote.store
	u := rc.user
	context := "https://graph.microsoft.com/v1.0/$metadata#users('" + rc.userID + "')/onenote/" + pluralNames[route.kind]
	if len(q.sel) > 0 {
		context += "(" + strings.Join(q.sel, ",") + ")"
	}
	if !route.coll {
		it := st.lookup(u, route.kind, route.id)
		if it == nil {
			return s.oneNoteNotFound(w, r)
		}
		body := append(jobj{{"@odata.context", context + "/$entity"}}, rc.entity(it, q.expand, q.sel, q.pagelevel)...)
		return s.writeOData(w, r, body)
	}

	var items []*onItem
	if route.id != "" {
		parent := st.lookup(u, route.parent, route.id)
		if parent == nil {
			return s.oneNoteNotFound(w, r)
		}
		st.mu.RLock()
		switch route.kind {
		case kSection:
			items = slices.Clone(parent.sections)
		case kSectionGroup:
			items = slices.Clone(parent.groups)
		case kPage:
			items = slices.Clone(parent.pages)
		}
		st.mu.RUnlock()
	} else {
		st.mu.RLock()
		nSections := len(u.sections)
		switch route.kind {
		case kNotebook:
			items = slices.Clone(u.notebooks)
		case kSectionGroup:
			items = slices.Clone(u.groups)
		case kSection:
			items = slices.Clone(u.sections)
		case kPage:
			items = slices.Clone(u.pages)
		}
		st.mu.RUnlock()
		s.onenote.mu.Lock()
		limit := s.onenote.maxSections
		s.onenote.mu.Unlock()
		if route.kind == kPage && nSections > limit {
			e := oneNoteError("20266")
			s.writeGraphError(w, r, e, 0)
			return e.status
		}
	}
	if q.filter != nil {
		items = slices.DeleteFunc(items, func(it *onItem) bool { return !q.filter.match(it) })
	}
	sortItems(items, route.kind, q.order)
	total := len(items)
	page := items[min(q.skip, total):]
	if len(page) > q.top {
		page = page[:q.top]
	}
	values := make([]jobj, 0, len(page))
	for _, it := range page {
		values = append(values, rc.entity(it, q.expand, q.sel, q.pagelevel))
	}
	body := jobj{{"@odata.context", context}}
	if q.count {
		body = append(body, jfield{"@odata.count", total})
	}
	if !q.hasTop && q.skip+len(page) < total {
		body = append(body, jfield{"@odata.nextLink", rc.base + r.URL.EscapedPath() + "?" + nextQuery(r.URL.Query(), q.skip+len(page))})
	}
	body = append(body, jfield{"value", values})
	return s.writeOData(w, r, body)
}

// nextQuery is the query with $skip set to skip, keeping "$" readable as Graph does.
func nextQuery(q url.Values, skip int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if lk := strings.ToLower(k); lk == "$skip" || lk == "skip" {
			continue
		}
		for _, v := range q[k] {
			parts = append(parts, strings.ReplaceAll(url.QueryEscape(k), "%24", "$")+"="+strings.ReplaceAll(url.QueryEscape(v), "%24", "$"))
		}
	}
	parts = append(parts, "$skip="+strconv.Itoa(skip))
	return strings.Join(parts, "&")
}

func (s *Server) oneNoteNotFound(w http.ResponseWriter, r *http.Request) int {
	s.writeGraphError(w, r, oneNoteError("20102"), 0)
	return http.StatusNotFound
}

func (s *Server) writeOData(w http.ResponseWriter, r *http.Request, body jobj) int {
	b, err := json.Marshal(body)
	if err != nil {
		s.writeGraphError(w, r, oneNoteError("10001"), 0)
		return http.StatusInternalServerError
	}
	s.graphHeaders(w, r)
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return http.StatusOK
}

// jobj is a JSON object that keeps its key order.
type jobj []jfield

type jfield struct {
	k string
	v any
}

func (o jobj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// self is an entity's canonical URL on this emulator.
func (rc *renderCtx) self(it *onItem) string {
	return rc.base + "/v1.0/users/" + rc.userID + "/onenote/" + pluralNames[it.kind] + "/" + it.id
}

// siteURL is the user's (fictional) OneDrive for Business site.
func (rc *renderCtx) siteURL() string {
	return "https://graphauth-my.sharepoint.example/personal/" + siteNameReplacer.Replace(strings.ToLower(rc.upn))
}

var siteNameReplacer = strings.NewReplacer(".", "_", "@", "_")

func (rc *renderCtx) links(it *onItem) jobj {
	site := rc.siteURL()
	var client, web string
	switch it.kind {
	case kNotebook:
		nb := site + "/Documents/Notebooks/" + url.PathEscape(it.name)
		client, web = "onenote:"+nb, nb
	case kSection:
		nb := site + "/Documents/Notebooks/" + url.PathEscape(it.notebook.name)
		client = "onenote:" + nb + "/" + url.PathEscape(sectionPath(it)) + ".one#section-id={" + it.id + "}&end"
		web = site + "/_layouts/15/Doc.aspx?sourcedoc=" + url.QueryEscape(it.notebook.name) + "&wd=target(" + url.QueryEscape(sectionPath(it)) + ".one%7C" + url.QueryEscape(it.id) + "%2F)"
	case kPage:
		nb := site + "/Documents/Notebooks/" + url.PathEscape(it.notebook.name)
		client = "onenote:" + nb + "/" + url.PathEscape(sectionPath(it.section)) + ".one#" + url.PathEscape(it.name) + "&section-id={" + it.section.id + "}&page-id={" + it.id + "}&end"
		web = site + "/_layouts/15/Doc.aspx?sourcedoc=" + url.QueryEscape(it.notebook.name) + "&wd=target(" + url.QueryEscape(sectionPath(it.section)) + ".one%7C" + url.QueryEscape(it.section.id) + "%2F" + url.QueryEscape(it.name) + "%7C" + url.QueryEscape(it.id) + "%2F)"
	}
	return jobj{{"oneNoteClientUrl", jobj{{"href", client}}}, {"oneNoteWebUrl", jobj{{"href", web}}}}
}

// sectionPath is "Group/Sub/Section".
func sectionPath(sec *onItem) string {
	path := sec.name
	for g := sec.group; g != nil; g = g.group {
		path = g.name + "/" + path
	}
	return path
}

func (rc *renderCtx) identity() jobj {
	return jobj{{"user", jobj{{"id", rc.userID}, {"displayName", rc.name}}}}
}

// entity renders it with the expansions exp and the selection sel (id is always kept).
func (rc *renderCtx) entity(it *onItem, exp []*expandNode, sel []string, pagelevel bool) jobj {
	self := rc.self(it)
	var out jobj
	for _, f := range entityFields[it.kind] {
		if len(sel) > 0 && f != "id" && !slices.Contains(sel, f) {
			continue
		}
		var v any
		switch f {
		case "id":
			v = it.id
		case "self":
			v = self
		case "createdDateTime":
			v = graphTime(it.created)
		case "lastModifiedDateTime":
			v = graphTime(it.modified)
		case "displayName", "title":
			v = it.name
		case "isDefault":
			v = it.isDefault
		case "userRole":
			v = "Owner"
		case "isShared":
			v = false
		case "sectionsUrl":
			v = self + "/sections"
		case "sectionGroupsUrl":
			v = self + "/sectionGroups"
		case "pagesUrl":
			v = self + "/pages"
		case "createdBy", "lastModifiedBy":
			v = rc.identity()
		case "links":
			v = rc.links(it)
		case "createdByAppId":
			v = it.appID
		case "contentUrl":
			v = self + "/content"
		case "level", "order":
			if !pagelevel {
				continue
			}
			v = it.level
			if f == "order" {
				v = it.order
			}
		}
		out = append(out, jfield{f, v})
	}
	for _, n := range exp {
		out = append(out, rc.expansion(it, n)...)
	}
	return out
}

// expansion renders one expanded navigation property of it.
func (rc *renderCtx) expansion(it *onItem, n *expandNode) jobj {
	nested := n.nested
	if n.levelsMax {
		nested = append(slices.Clone(nested), n)
	}
	parent := func(p *onItem) any {
		if p == nil {
			return nil
		}
		return rc.entity(p, nested, nil, false)
	}
	switch n.name {
	case "parentNotebook":
		nb := it.notebook
		if it.kind == kNotebook {
			nb = nil
		}
		return jobj{{"parentNotebook@odata.context", "https://graph.microsoft.com/v1.0/$metadata#users('" + rc.userID + "')/onenote/notebooks/$entity"}, {"parentNotebook", parent(nb)}}
	case "parentSectionGroup":
		return jobj{{"parentSectionGroup", parent(it.group)}}
	case "parentSection":
		if it.section == nil {
			return jobj{{"parentSection", nil}}
		}
		sec := jobj{{"id", it.section.id}, {"name", it.section.name}, {"self", rc.self(it.section)}}
		for _, nn := range nested {
			sec = append(sec, rc.expansion(it.section, nn)...)
		}
		return jobj{{"parentSection@odata.context", "https://graph.microsoft.com/v1.0/$metadata#users('" + rc.userID + "')/onenote/sections/$entity"}, {"parentSection", sec}}
	case "sections", "sectionGroups":
		var children []*onItem
		rc.store.mu.RLock()
		if n.name == "sections" {
			children = slices.Clone(it.sections)
		} else {
			children = slices.Clone(it.groups)
		}
		rc.store.mu.RUnlock()
		sortItems(children, kNotebook, nil)
		list := make([]jobj, 0, len(children))
		for _, c := range children {
			list = append(list, rc.entity(c, nested, nil, false))
		}
		return jobj{{n.name, list}}
	}
	return nil
}
