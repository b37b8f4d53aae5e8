// Type-aware lint for the footguns STYLE.md names: floating promises, non-exhaustive switches, bare .pipe(),
// and module-level mutable state is left to review. Run with `npm run lint`.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'bench/results/**', 'coverage/**', '.sluice/**'] },
  {
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/await-thenable': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='pipe'][arguments.length=1]",
          message: 'Use stream.pipeline (errors and teardown propagate both ways); a bare .pipe() leaks on error.',
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'exit', message: 'Return an exit code from the command instead; process.exit drops buffered log lines.' },
      ],
    },
  },
);
