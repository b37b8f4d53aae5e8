// A thin seam so the guard and `sluice scan` build request body filters the same way.
import { createRequestBodyFilter } from './body-filter.ts';
import type { BodyFilter, GuardStage, ScanContext } from './types.ts';

export function createBodyFilterFor(stages: readonly GuardStage[], ctx: ScanContext, contentType: string, contentEncoding: string, windowSize?: number): BodyFilter {
  return createRequestBodyFilter({ stages, ctx, contentType, contentEncoding, ...(windowSize !== undefined ? { windowSize } : {}) });
}
