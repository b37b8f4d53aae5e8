// Every error an agent can see is a SluiceError whose `code` is the contract string. Exactly one function
// (errorResponse) turns an error into a status, a JSON body and the x-sluice-decision header, so the
// contract table in ARCHITECTURE.md lives here once.

export type ErrorCode =
  | 'sluice_policy_denied'
  | 'sluice_guard_blocked'
  | 'sluice_auth_required'
  | 'sluice_secret_unavailable'
  | 'sluice_upstream_failed'
  | 'sluice_upstream_timeout'
  | 'sluice_bad_request'
  | 'sluice_rate_limited'
  | 'sluice_too_large';

export type AuditDecision = 'allow' | 'redact' | 'block' | 'deny' | 'tunnel' | 'error';

export interface PublicFinding {
  readonly rule: string;
  readonly kind: string;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly decision: AuditDecision;
  constructor(code: ErrorCode, status: number, decision: AuditDecision, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.decision = decision;
  }
  /** Extra fields for the JSON body the agent reads. Never contains a secret. */
  body(): Record<string, unknown> {
    return { error: this.code, message: this.message };
  }
  headers(): Record<string, string> {
    return {};
  }
}

export class PolicyDeniedError extends SluiceError {
  constructor(message: string, options?: ErrorOptions) {
    super('sluice_policy_denied', 403, 'deny', message, options);
  }
}

export class GuardBlockedError extends SluiceError {
  readonly findings: readonly PublicFinding[];
  constructor(message: string, findings: readonly PublicFinding[], options?: ErrorOptions) {
    super('sluice_guard_blocked', 403, 'block', message, options);
    this.findings = findings;
  }
  override body(): Record<string, unknown> {
    return { ...super.body(), findings: this.findings.map((f) => ({ rule: f.rule, kind: f.kind })) };
  }
}

export class AuthRequiredError extends SluiceError {
  constructor(message = 'Proxy authentication is required: send Proxy-Authorization with your agent token.') {
    super('sluice_auth_required', 407, 'deny', message);
  }
  override headers(): Record<string, string> {
    return { 'proxy-authenticate': 'Basic realm="sluice", Bearer realm="sluice"' };
  }
}

export class SecretUnavailableError extends SluiceError {
  readonly secretName: string;
  constructor(secretName: string, options?: ErrorOptions) {
    super(
      'sluice_secret_unavailable',
      503,
      'error',
      `The credential for this host (${secretName}) cannot be read right now. Other hosts are unaffected; retry later or tell the operator.`,
      options,
    );
    this.secretName = secretName;
  }
}

export class UpstreamFailedError extends SluiceError {
  constructor(message = 'The upstream server could not be reached, refused the connection or failed TLS verification.', options?: ErrorOptions) {
    super('sluice_upstream_failed', 502, 'error', message, options);
  }
}

export class UpstreamTimeoutError extends SluiceError {
  constructor(message = 'The upstream server did not answer in time.', options?: ErrorOptions) {
    super('sluice_upstream_timeout', 504, 'error', message, options);
  }
}

export class BadRequestError extends SluiceError {
  constructor(message: string, options?: ErrorOptions) {
    super('sluice_bad_request', 400, 'error', message, options);
  }
}

export class TooLargeError extends SluiceError {
  constructor(message: string, status: 413 | 414 | 431 = 413, options?: ErrorOptions) {
    super('sluice_too_large', status, 'error', message, options);
  }
}

export class RateLimitedError extends SluiceError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('sluice_rate_limited', 429, 'deny', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
  override headers(): Record<string, string> {
    return { 'retry-after': String(Math.max(1, Math.ceil(this.retryAfterSeconds))) };
  }
}

/** Configuration and policy problems, with their places. Not seen by agents. */
export interface SourceProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export class ConfigError extends Error {
  readonly problems: readonly SourceProblem[];
  constructor(problems: readonly SourceProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

export function formatProblem(p: SourceProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

export interface ErrorResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const DECISION_HEADER: Partial<Record<ErrorCode, string>> = {
  sluice_policy_denied: 'deny',
  sluice_guard_blocked: 'block',
  sluice_rate_limited: 'deny',
};

/** The one place an error becomes what the agent sees. Unknown errors become a 502 with no internals. */
export function errorResponse(error: unknown): ErrorResponse {
  const e = error instanceof SluiceError ? error : new UpstreamFailedError();
  const body = JSON.stringify(e.body());
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...e.headers(),
  };
  const decisionHeader = DECISION_HEADER[e.code];
  if (decisionHeader) headers['x-sluice-decision'] = decisionHeader;
  return { status: e.status, headers, body };
}
