// The Guard: which stages see an exchange (decided at header time from the merged settings), the head check,
// the request body filter, and the response side, which belongs to response/ and gets the echo-redaction stage.
import { createBodyFilterFor } from './request-body.ts';
import { checkHead } from './head.ts';
import { resolveFindings, scanText } from './apply.ts';
import { reportOf } from './body-filter.ts';
import { applyEdits, type Edit } from './edits.ts';
import { createResponseFilter } from './response/index.ts';
import type { CompiledRule } from './rules/pack.ts';
import type { GuardSettings } from './settings.ts';
import { createCustomRuleStage } from './stages/custom-rules.ts';
import { createExfilStage } from './stages/exfil.ts';
import { createKnownSecretsStage } from './stages/known-secrets.ts';
import { createPiiStage } from './stages/pii.ts';
import { createPlaceholderStage } from './stages/placeholders.ts';
import { createSecretPatternStage } from './stages/secret-patterns.ts';
import type { Direction, ExchangeContext, Guard, GuardStage, Location, ResponseHead, ScanContext } from './types.ts';
import type { CredentialSpec } from '../policy/types.ts';
import type { SecretValue } from '../secrets/types.ts';

export interface PipelineDeps {
  readonly knownSecrets: () => readonly SecretValue[];
  readonly credentials: () => readonly CredentialSpec[];
  readonly isHostAllowed: (host: string) => boolean;
  readonly rulePack: readonly CompiledRule[];
  readonly windowSize?: number;
}

export const SKIPPED_REQUEST_BODY = 'request body DLP scanning is off for this host (guard.request: off); known secrets and placeholders are still checked';

/**
 * Stages that protect Sluice's own injected secrets. They run on request bodies even when a host opts out of
 * DLP (`request: off`): opting out of pattern/PII/exfil scanning must not let a known secret or a misused
 * placeholder leave in a body.
 */
const ALWAYS_ON_BODY_STAGES = new Set(['known-secrets', 'placeholders']);

export function scanContext(ctx: ExchangeContext, direction: Direction, location: Location, contentType: string): ScanContext {
  return { direction, agent: ctx.agent, host: ctx.host, contentType, location, settings: ctx.decision.guard, boundSecret: ctx.decision.credential?.secret ?? null };
}

/** Every request-side stage, in the order their findings are listed. */
export function requestStages(deps: PipelineDeps): GuardStage[] {
  return [
    createKnownSecretsStage(deps.knownSecrets),
    createPlaceholderStage(deps.credentials),
    createSecretPatternStage(deps.rulePack),
    createCustomRuleStage(),
    createPiiStage(),
    createExfilStage(),
  ];
}

function selectStages(stages: readonly GuardStage[], ctx: ScanContext): GuardStage[] {
  return stages.filter((s) => s.directions.includes(ctx.direction) && s.accepts(ctx));
}

export function createPipelineGuard(deps: PipelineDeps): Guard {
  const stages = requestStages(deps);
  const echo = createKnownSecretsStage(deps.knownSecrets);
  const echoOnly = [echo];

  function checkResponseHead(ctx: ExchangeContext, head: ResponseHead) {
    const sctx = scanContext(ctx, 'response', 'header', '');
    if (!echo.accepts(sctx)) return { report: reportOf([], 'header'), head };
    const found: ReturnType<typeof scanText> = [];
    // Copied only once a header changes: most responses carry no known secret, and their head goes on as it came.
    let headers: Array<readonly [string, string]> | null = null;
    for (let i = 0; i < head.headers.length; i++) {
      const [name, value] = head.headers[i]!;
      const fs = resolveFindings(scanText(echoOnly, value, sctx, 0)).map((f) => (f.action === 'block' ? f : { ...f, action: 'redact' as const }));
      if (fs.length === 0) continue;
      found.push(...fs);
      const edits: Edit[] = fs.map((f) => ({ start: f.span[0], end: f.span[1], replacement: f.replacement ?? `[REDACTED:${f.kind}]` }));
      headers ??= [...head.headers];
      headers[i] = [name, applyEdits(value, 0, 0, value.length, edits, null).text];
    }
    return { report: reportOf(found, 'header'), head: headers === null ? head : { ...head, headers } };
  }

  return {
    checkRequestHead(ctx, head) {
      const settings: GuardSettings = ctx.decision.guard;
      const sctx = scanContext(ctx, 'request', 'path', '');
      const skipped = settings.request === 'off' ? SKIPPED_REQUEST_BODY : null;
      return checkHead(selectStages(stages, sctx), sctx, head, skipped);
    },
    requestBody(ctx, contentType, contentEncoding) {
      const sctx = scanContext(ctx, 'request', 'body', contentType);
      const off = ctx.decision.guard.request === 'off';
      const chosen = selectStages(stages, sctx).filter((s) => !off || ALWAYS_ON_BODY_STAGES.has(s.id));
      if (chosen.length === 0) return null;
      return createBodyFilterFor(chosen, sctx, contentType, contentEncoding, deps.windowSize);
    },
    checkResponseHead,
    responseBody(ctx, head) {
      const settings = ctx.decision.guard;
      return createResponseFilter(ctx, head, { stages: [echo], settings, isHostAllowed: deps.isHostAllowed, maxDecodedBytes: settings.maxDecodedBytes });
    },
  };
}
