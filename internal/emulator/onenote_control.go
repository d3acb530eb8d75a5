package emulator

import (
	"errors"
	"net/http"
)

// HTTP twins of the OneNote control methods, under /_emulator/onenote/ (loopback only).

// handleOneNoteClock serves POST /_emulator/onenote/clock {"speed":100}.
func (s *Server) handleOneNoteClock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Speed float64 `json:"speed"`
	}
	if !decodeJSONBody(w, r, &in) {
		return
	}
	if in.Speed <= 0 {
		controlError(w, http.StatusBadRequest, "speed must be positive")
		return
	}
	s.SetOneNoteClockSpeed(in.Speed)
	w.WriteHeader(http.StatusNoContent)
}

// handleOneNoteFaultRates serves POST /_emulator/onenote/fault-rates {"p429":0.05,"p503":0.01}.
func (s *Server) handleOneNoteFaultRates(w http.ResponseWriter, r *http.Request) {
	var in struct {
		P429 float64 `json:"p429"`
		P503 float64 `json:"p503"`
	}
	if !decodeJSONBody(w, r, &in) {
		return
	}
	if in.P429 < 0 || in.P503 < 0 || in.P429+in.P503 > 1 {
		controlError(w, http.StatusBadRequest, "p429 and p503 must be >= 0 and add up to at most 1")
		return
	}
	s.SetOneNoteFaultRates(in.P429, in.P503)
	w.WriteHeader(http.StatusNoContent)
}

// handleOneNoteSettings serves POST /_emulator/onenote/settings {"requestsPerMinute",
// "concurrency","clockSpeed","tooManySectionsThreshold"} (0 means the default).
func (s *Server) handleOneNoteSettings(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RequestsPerMinute        int     `json:"requestsPerMinute"`
		Concurrency              int     `json:"concurrency"`
		ClockSpeed               float64 `json:"clockSpeed"`
		TooManySectionsThreshold int     `json:"tooManySectionsThreshold"`
	}
	if !decodeJSONBody(w, r, &in) {
		return
	}
	s.OneNoteConfigure(OneNoteSettings{RequestsPerMinute: in.RequestsPerMinute, Concurrency: in.Concurrency,
		ClockSpeed: in.ClockSpeed, TooManySectionsThreshold: in.TooManySectionsThreshold})
	w.WriteHeader(http.StatusNoContent)
}

// handleOneNoteSections serves POST /_emulator/onenote/sections {"userID","notebook",
// "section","pages","imagesPerPage"} and answers {"id": section id}.
func (s *Server) handleOneNoteSections(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID        string `json:"userID"`
		Notebook      string `json:"notebook"`
		Section       string `json:"section"`
		Pages         int    `json:"pages"`
		ImagesPerPage int    `json:"imagesPerPage"`
	}
	if !decodeJSONBody(w, r, &in) {
		return
	}
	if in.Pages > 100000 || in.ImagesPerPage > 100 {
		controlError(w, http.StatusBadRequest, "at most 100000 pages and 100 images per page")
		return
	}
	id, err := s.AddOneNoteSection(in.UserID, in.Notebook, in.Section, in.Pages, in.ImagesPerPage)
	answerCreated(w, id, err)
}

// answerCreated answers a control call that added something: 201 {"id": id}, or the error
// (404 for an unknown user, else 400).
func answerCreated(w http.ResponseWriter, id string, err error) {
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errUnknownUser) {
			status = http.StatusNotFound
		}
		controlError(w, status, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

// handleOneNoteUser serves POST /_emulator/onenote/user {"userID","clear","available"}:
// clear removes the user's notebooks (ClearOneNote); available (true or false) gives or takes
// away OneNote (SetOneNoteAvailable).
func (s *Server) handleOneNoteUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID    string `json:"userID"`
		Clear     bool   `json:"clear"`
		Available *bool  `json:"available"`
	}
	if !decodeJSONBody(w, r, &in) {
		return
	}
	if _, ok := s.findUser(in.UserID); !ok {
		controlError(w, http.StatusNotFound, errUnknownUser.Error())
		return
	}
	if in.Available != nil {
		_ = s.SetOneNoteAvailable(in.UserID, *in.Available)
	}
	if in.Clear {
		_ = s.ClearOneNote(in.UserID)
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleOneNoteStats serves GET /_emulator/onenote/stats.
func (s *Server) handleOneNoteStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.OneNoteStats())
}

// handleOneNoteResetStats serves POST /_emulator/onenote/reset-stats.
func (s *Server) handleOneNoteResetStats(w http.ResponseWriter, r *http.Request) {
	s.ResetOneNoteStats()
	w.WriteHeader(http.StatusNoContent)
}
