package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Me shows Graph's object indented as it came, and refuses an answer that is not a JSON object.
func TestMeAnswers(t *testing.T) {
	cases := []struct {
		name, body, wantPretty string
		wantErr                bool
	}{
		{"object", `{"displayName":"Ada <&>","id":"1","businessPhones":[]}`,
			"{\n    \"displayName\": \"Ada <&>\",\n    \"id\": \"1\",\n    \"businessPhones\": []\n}", false},
		{"array", `[{"id":"1"}]`, "", true},
		{"null", `null`, "", true},
		{"truncated", `{"id":"1"`, "", true},
		{"trailing garbage", `{"id":"1"} x`, "", true},
		{"html", `<html>oops</html>`, "", true},
		{"empty", ``, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer tok" {
					http.Error(w, "no token", http.StatusUnauthorized)
					return
				}
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := &Client{HTTP: srv.Client(), Endpoint: srv.URL + "/v1.0/me"}
			res, err := c.Me(context.Background(), "tok")
			var ge *Error
			if tc.wantErr {
				if !errors.As(err, &ge) || ge.Code != "InvalidResponse" {
					t.Fatalf("err = %v, want InvalidResponse", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Pretty != tc.wantPretty {
				t.Errorf("Pretty =\n%s\nwant\n%s", res.Pretty, tc.wantPretty)
			}
			if strings.Contains(res.Pretty, `\u003c`) {
				t.Error("the JSON is HTML-escaped: the page escapes it already")
			}
		})
	}
}
