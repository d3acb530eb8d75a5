package deploy_test

import (
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

// A shared store that goes down: pages that need a session show the error page and the log
// says why, nothing crashes, /readyz reports 503 (and /healthz stays 200) until the store is
// back; an instance started during the outage starts anyway; when the store returns, everything
// works again without a restart, and (with a store that keeps its data) the user is still
// signed in.
func TestStoreOutage(t *testing.T) {
	t.Parallel()
	for _, open := range []func(*testing.T) store{redisStore, postgresStore} {
		s := open(t)
		t.Run(s.kind, func(t *testing.T) {
			d := deploy(t, deployOpts{env: s.env})
			in := d.insts[0]
			br := d.browser()
			br.signIn(in.url)

			s.stop()

			p := br.get(in.url + "/msal-demo")
			if p.status != http.StatusInternalServerError {
				t.Fatalf("/msal-demo with the store down: %d\n%s", p.status, p.body)
			}
			mustContain(t, p, "Session storage failed", "SESSION_TYPE")
			failed := logLines(in, "request failed")
			if len(failed) == 0 || failed[len(failed)-1]["level"] != "ERROR" ||
				!strings.Contains(failed[len(failed)-1]["err"].(string), "session store: "+s.kind) {
				t.Errorf("no ERROR log line naming the %s store; got %v", s.kind, failed)
			}
			if p := br.get(in.url + "/healthz"); p.status != http.StatusOK {
				t.Errorf("/healthz with the store down: %d", p.status)
			}
			ready := br.get(in.url + "/readyz")
			if ready.status != http.StatusServiceUnavailable || !strings.Contains(ready.body, "session store") {
				t.Errorf("/readyz with the store down: %d %q, want 503 naming the session store", ready.status, ready.body)
			}

			// An instance that starts now starts anyway, says so, and is not ready.
			late := d.startInstance("late", listen(t), instanceVars(in))
			if len(logLines(late, "session store unreachable at start-up; starting anyway: pages that need a session fail and /readyz reports 503 until it is back")) != 1 {
				t.Errorf("the instance started during the outage did not warn:\n%s", late.logs)
			}
			d.insts = append(d.insts, late) // its logs are checked too
			if p := br.get(late.url + "/readyz"); p.status != http.StatusServiceUnavailable {
				t.Errorf("/readyz of the late instance: %d", p.status)
			}

			s.start(t)

			for _, inst := range []*instance{in, late} {
				if p := br.get(inst.url + "/readyz"); p.status != http.StatusOK {
					t.Errorf("/readyz of %s after the store came back: %d %q", inst.name, p.status, p.body)
				}
			}
			// The stores keep their data (Redis with its append-only file): still signed in.
			if p := br.get(in.url + "/msal-demo"); p.status != http.StatusOK {
				t.Errorf("/msal-demo after the store came back: %d\n%s", p.status, p.body)
			}
			if p := br.get(late.url + "/"); p.status != http.StatusOK || !strings.Contains(p.body, "Welcome") {
				t.Errorf("the late instance does not see the session: %s %d", p.url, p.status)
			}
		})
	}
}

// instanceVars rebuilds the variables an instance was configured with, for another instance on
// a new port with the same settings.
func instanceVars(in *instance) map[string]string {
	c := in.cfg
	vars := map[string]string{
		"CLIENT_ID": c.ClientID, "CLIENT_SECRET": c.ClientSecret, "AUTHORITY": c.Authority,
		"INSTANCE_DISCOVERY": "false", "EXTRA_CA_FILE": c.ExtraCAFile, "GRAPH_ENDPOINT": c.GraphEndpoint,
		"HOST": "127.0.0.1", "REDIRECT_URI": c.RedirectURI, "SESSION_TYPE": c.SessionType,
		"SESSION_DIR": c.SessionDir, "REDIS_URL": c.RedisURL, "DATABASE_URL": c.DatabaseURL,
		"OUTBOUND_TIMEOUT": c.OutboundTimeout.String(), "LOG_FORMAT": c.LogFormat, "LOG_LEVEL": c.LogLevel,
	}
	var keys []string
	for _, k := range c.SessionKeys {
		keys = append(keys, hex.EncodeToString(k))
	}
	vars["SESSION_KEY"] = strings.Join(keys, ",") // the same keys: the instance reads the others' sessions
	return vars
}
