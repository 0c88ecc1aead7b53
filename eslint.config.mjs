// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  // examples/ are packages of their own, type-checked by their own tsc against the packed package
  // (test/examples/); here they have no node_modules to type-check against.
  { ignores: ['node_modules/**', 'lib/**', 'bench/results/**', 'test/fixtures/**', 'examples/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, and activities
    // only as types (a value import would drag the cloud SDK into the bundle).
    files: [
      'src/workflows/**/*.ts',
      'src/retry/**/*.ts',
      'src/exports/workflows.ts',
      'test/support/workflows/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code cannot use Node built-ins.' })),
          patterns: [
            {
              group: [
                '**/activities',
                '**/activities/**',
                '@alicloud/*',
                '@temporalio/activity',
                '@temporalio/worker',
                '@temporalio/client',
              ],
              allowTypeImports: true,
              message:
                'Import activities (and other non-deterministic modules) as types only in workflow code.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
);
