// Package deploy has no code of its own: its tests run graphauth the way it is deployed, as
// several instances of the real app (web.Build + web.Serve) behind a load balancer, sharing a
// real Redis, PostgreSQL or session directory, behind a TLS-terminating proxy or serving TLS
// itself, with certificate credentials and multi-tenant authorities, all against the real
// emulator on loopback. See the README's "Deploying" section.
package deploy
