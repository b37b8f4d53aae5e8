export { startAdminServer, runChecks, type ReadinessCheck, type AdminServer, type AdminServerOptions, type CheckResult } from './server.ts';
export { secretsReadiness, caReadiness, stateReadiness } from './readiness.ts';
export { parseHostPort } from './listen-address.ts';
