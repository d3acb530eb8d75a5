// Package graph calls Microsoft Graph's /me on behalf of the signed-in user (step 6).
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client calls one Graph endpoint.
type Client struct {
	HTTP     *http.Client
	Endpoint string        // e.g. https://graph.microsoft.com/v1.0/me
	Timeout  time.Duration // per call
}

// Result is Graph's answer, ready to show.
type Result struct {
	Pretty   string // Graph's JSON object, indented, for the page (escaped by html/template)
	Status   int
	Duration time.Duration
	// RequestID is Graph's request-id header, useful when asking Microsoft for help.
	RequestID string
}

// ErrUnreachable means Graph could not be reached or did not answer before the deadline.
var ErrUnreachable = errors.New("graph: could not be reached")

// Error is an error answer from Graph, in Graph's own shape.
type Error struct {
	Status     int
	Code       string // e.g. InvalidAuthenticationToken, Authorization_RequestDenied
	Message    string
	RetryAfter time.Duration // from Retry-After, for 429 and 503
	RequestID  string
}

func (e *Error) Error() string { return fmt.Sprintf("graph answered %d %s", e.Status, e.Code) }

const maxBody = 1 << 20

// Me calls GET Endpoint with the access token.
func (c *Client) Me(ctx context.Context, accessToken string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Endpoint, nil)
	if err != nil {
		return Result{}, fmt.Errorf("graph request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrUnreachable, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return Result{}, fmt.Errorf("%w: reading the answer: %v", ErrUnreachable, err)
	}
	elapsed := time.Since(start)
	reqID := resp.Header.Get("request-id")
	if resp.StatusCode != http.StatusOK {
		return Result{}, parseError(resp, body)
	}
	// Indent Graph's answer as it came (its order of properties, its characters, no JSON HTML
	// escaping: the page's html/template escapes it), which also checks it is JSON: no decoding
	// into a map and encoding again.
	var pretty bytes.Buffer
	pretty.Grow(len(body) + len(body)/2)
	if !isObject(body) || json.Indent(&pretty, body, "", "    ") != nil {
		return Result{}, &Error{Status: resp.StatusCode, Code: "InvalidResponse", Message: "Graph's answer is not a JSON object", RequestID: reqID}
	}
	return Result{Pretty: strings.TrimSpace(pretty.String()), Status: resp.StatusCode, Duration: elapsed, RequestID: reqID}, nil
}

// isObject reports whether JSON text starts with an object (json.Indent checks the rest).
func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func parseError(resp *http.Response, body []byte) *Error {
	var raw struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &raw)
	e := &Error{Status: resp.StatusCode, Code: raw.Error.Code, Message: raw.Error.Message, RequestID: resp.Header.Get("request-id")}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = max(time.Until(t).Round(time.Second), 0)
		}
	}
	if len(e.Message) > 500 {
		e.Message = e.Message[:500] + "…"
	}
	return e
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 10 * time.Second
}
