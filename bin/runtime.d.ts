export declare const SLUICE_NODE_FLAGS: readonly string[];
export declare const BUILD_STAMP: string;
export declare function builtIsFresh(root: string): boolean;
