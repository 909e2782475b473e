// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/**
 * The layers of src/, lowest first (docs/architecture.md draws them). A layer may import the
 * layers below it, never one above it nor a peer in its own group.
 */
const LAYERS = [
  // The typed API client (`agentry/client`): shipped to browsers too, it imports nothing of src/ but itself.
  ['src/client'],
  ['src/lib'],
  ['src/types.ts'],
  ['src/spec'],
  ['src/store', 'src/queue'],
  ['src/obs'],
  ['src/tools', 'src/gateway'],
  ['src/runtime'],
  ['src/engine'],
  ['src/app'],
  ['src/server'],
  ['src/cli'],
  ['src/index.ts'],
];

const layerZones = LAYERS.slice(0, -1).flatMap((group, level) =>
  group.map((target) => ({
    target: `./${target}`,
    from: [...LAYERS.slice(level + 1).flat(), ...group.filter((peer) => peer !== target)].map((path) => `./${path}`),
    message: 'Imports flow down the layers in docs/architecture.md: this module may not import that one.',
  })),
);

/**
 * The server and the CLI reach runs, tasks and the rest through the application services
 * (`src/app`), never the engine or the store directly, so the HTTP API and the CLI's local
 * mode cannot drift apart (they did once: local `runs get` lacked `usage`).
 */
const serviceZones = ['src/server', 'src/cli'].map((target) => ({
  target: `./${target}`,
  from: ['./src/store', './src/engine'],
  message: 'Go through the application services in src/app (see docs/architecture.md), not the engine or the store.',
}));

/** The client is the CLI's way to a server; the layers below it speak to the server's code, not its API. */
const clientZones = [
  {
    target: [
      './src/lib',
      './src/types.ts',
      './src/spec',
      './src/store',
      './src/queue',
      './src/obs',
      './src/tools',
      './src/gateway',
      './src/runtime',
      './src/engine',
      './src/app',
      './src/server',
    ],
    from: ['./src/client'],
    message: 'Only the CLI (and the library entry) use the API client (src/client); server-side code calls the application services.',
  },
];

export default tseslint.config(
  // src/client/openapi.ts is generated (`npm run client:types`).
  { ignores: ['dist/', 'test/.build/', 'node_modules/', '.agentry/', 'coverage/', 'src/ui/dist/', 'src/client/openapi.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones: [...layerZones, ...serviceZones, ...clientZones] }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'Use an `as const` object and a derived union type.' }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // What `agentry --version` and `--help` load: a command's module, and all it needs, is imported
    // dynamically when that command runs (src/cli/command-table.ts).
    files: ['src/cli/main.ts', 'src/cli/command-table.ts', 'src/cli/process-context.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!node:|commander$|\\.\\./lib/|\\./command-table\\.js$|\\./process-context\\.js$)',
              message: "The CLI entry loads only commander and src/lib; import a command's dependencies in its module, loaded through the command table.",
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // The API client runs in browsers too: no Node built-ins, no undici, nothing of src/ but its own files.
    files: ['src/client/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!openapi-fetch$|\\./)',
              message: 'src/client imports openapi-fetch and its own modules only (it is shipped to browsers: use the global fetch).',
            },
          ],
        },
      ],
    },
  },
  {
    // The web console (ui/, its own tsconfig: DOM, JSX, bundler resolution).
    files: ['ui/**/*.ts', 'ui/**/*.tsx'],
    languageOptions: { globals: globals.browser },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './ui/tsconfig.json' })] },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
);
