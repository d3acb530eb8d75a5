package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// configFile is the JSON shape of an emulator config file (see testdata/example-config.json).
// Every field is optional: what is absent keeps DefaultConfig's value, and "apps" or "users",
// when present, replace the demo ones.
//
//	{
//	  "tenant": "00000000-0000-4000-8000-0000000e0001",
//	  "access_token_seconds": 3600, "refresh_token_seconds": 86400, "code_seconds": 300,
//	  "apps": [{
//	    "client_id": "…", "display_name": "…", "secret": "…",
//	    "certificate_file": "app-cert.pem",   // PEM certificate(s); relative to the config file
//	    "redirect_uris": ["http://localhost:5000/getAToken"],
//	    "post_logout_redirect_uris": ["http://localhost:5000/"],
//	    "auto_approve_user": "alex.rivera@graphauth.example"
//	  }],
//	  "users": [{ "id": "…", "userPrincipalName": "…", "displayName": "…", "givenName": "…",
//	    "surname": "…", "mail": "…", "jobTitle": "…", "officeLocation": "…",
//	    "preferredLanguage": "…", "mobilePhone": "…", "businessPhones": ["…"] }]
//	}
type configFile struct {
	Tenant              string    `json:"tenant"`
	AccessTokenSeconds  int64     `json:"access_token_seconds"`
	RefreshTokenSeconds int64     `json:"refresh_token_seconds"`
	CodeSeconds         int64     `json:"code_seconds"`
	Apps                []appFile `json:"apps"`
	Users               []User    `json:"users"`
}

type appFile struct {
	ClientID               string   `json:"client_id"`
	DisplayName            string   `json:"display_name"`
	Secret                 string   `json:"secret"`
	CertificateFile        string   `json:"certificate_file"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	AutoApproveUser        string   `json:"auto_approve_user"`
}

// LoadConfigFile reads a JSON config file over DefaultConfig. Unknown fields are errors, so a
// typo does not silently fall back to a default.
func LoadConfigFile(path string) (Config, error) {
	cfg := DefaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("emulator config: %w", err)
	}
	var f configFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return cfg, fmt.Errorf("emulator config %s: %w", path, err)
	}
	if f.Tenant != "" {
		cfg.Tenant = f.Tenant
	}
	for _, v := range []int64{f.AccessTokenSeconds, f.RefreshTokenSeconds, f.CodeSeconds} {
		if v < 0 {
			return cfg, fmt.Errorf("emulator config %s: lifetimes must not be negative", path)
		}
	}
	cfg.AccessTokenLifetime = time.Duration(f.AccessTokenSeconds) * time.Second
	cfg.RefreshTokenLifetime = time.Duration(f.RefreshTokenSeconds) * time.Second
	cfg.CodeLifetime = time.Duration(f.CodeSeconds) * time.Second
	if f.Users != nil {
		cfg.Users = f.Users
	}
	if f.Apps != nil {
		cfg.Apps = nil
		for i, a := range f.Apps {
			app := App{
				ClientID:               a.ClientID,
				DisplayName:            a.DisplayName,
				Secret:                 a.Secret,
				RedirectURIs:           a.RedirectURIs,
				PostLogoutRedirectURIs: a.PostLogoutRedirectURIs,
				AutoApproveUser:        a.AutoApproveUser,
			}
			if a.CertificateFile != "" {
				p := a.CertificateFile
				if !filepath.IsAbs(p) {
					p = filepath.Join(filepath.Dir(path), p)
				}
				if app.CertificatePEM, err = os.ReadFile(p); err != nil {
					return cfg, fmt.Errorf("emulator config %s: apps[%d].certificate_file: %w", path, i, err)
				}
			}
			cfg.Apps = append(cfg.Apps, app)
		}
	}
	if _, err := cfg.withDefaults(); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
