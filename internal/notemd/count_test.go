package notemd

import (
	"strconv"
	"testing"
)

// CountResources agrees with len(Resources) on every page the package's tests know.
func TestCountResourcesAgreesWithResources(t *testing.T) {
	pages := knownPages(t)
	const res = `https://graph.microsoft.com/v1.0/me/onenote/resources/`
	for i, p := range []string{
		``,
		`<img src="` + res + `0-a!1-b/$value">`,
		`<img src="` + res + `0-a!1-b/$value"><img src="` + res + `0-a!1-b/$value">`,
		`<img src="` + res + `0-a/$value" data-fullres-src="` + res + `0-full/$value">`,
		`<object data="` + res + `0-p/$value" data-attachment="r.pdf"/><img src="` + res + `0-q/$value">`,
		`<iframe src="x"/><img src="` + res + `0-after/$value">`,
		`<object data="` + res + `0-p/$value"/>`,
		`<img src="` + res + `..%2Fme/$value"><img src="https://evil.example/x.png">`,
		`<script><img src="` + res + `0-inscript/$value"></script><textarea><img src="` + res + `0-t/$value"></textarea>`,
		`<svg><img src="` + res + `0-svg/$value"><object data="` + res + `0-o/$value" data-attachment="a"></object></svg>`,
		"\xef\xbb\xbf<img src=\"" + res + "0-bom/$value\">\xff",
	} {
		pages["case "+strconv.Itoa(i)] = []byte(p)
	}
	for name, p := range pages {
		all, err := Resources(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := CountResources(p); got != len(all) {
			t.Errorf("%s: CountResources = %d, len(Resources) = %d", name, got, len(all))
		}
	}
}

// FuzzCountResources: the count never differs from the full parse's.
func FuzzCountResources(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, page []byte) {
		all, err := Resources(page)
		if err != nil {
			return
		}
		if got := CountResources(page); got != len(all) {
			t.Errorf("CountResources = %d, len(Resources) = %d for %q", got, len(all), page)
		}
	})
}
