// What other folders may use from the policy module.
export type * from './types.ts';
export { loadPolicy, listPolicyFiles, displayPath, policyLoadOptions, type PolicyLoadOptions, type PolicyLoadResult } from './load.ts';
export { PolicyStore, type PolicyStatus } from './store.ts';
export { denialMessage, describeRequest } from './decide.ts';
export { renderCredential, defaultPlaceholder } from './credential.ts';
export { secretNames } from './secrets.ts';
