package emulator

import "net/http"

// handleOneNotePages serves POST /_emulator/onenote/pages {"userID","sectionID","title","html"}
// (loopback only): AddOneNotePage's HTTP twin, for harnesses that run the emulator as a
// process (make perf adds pages of given sizes). It answers {"id": page id}.
//
// It is routed through onenotePagesLoopback: the control API's usual 1 MiB body limit would not
// let a 1 MB page in.
func (s *Server) handleOneNotePages(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID    string `json:"userID"`
		SectionID string `json:"sectionID"`
		Title     string `json:"title"`
		HTML      string `json:"html"`
	}
	if !decodeJSONBody(w, r, &in) {
		return
	}
	id, err := s.AddOneNotePage(in.UserID, in.SectionID, in.Title, in.HTML, nil)
	answerCreated(w, id, err)
}

// onenotePagesLoopback is handleOneNotePages behind loopbackOnly, with a 16 MiB body limit in
// place of loopbackOnly's 1 MiB.
func (s *Server) onenotePagesLoopback(w http.ResponseWriter, r *http.Request) {
	body := r.Body
	s.loopbackOnly(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, body, 16<<20)
		s.handleOneNotePages(w, r)
	})(w, r)
}
