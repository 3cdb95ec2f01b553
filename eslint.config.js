// Lint rules that catch what the type checker does not: above all an un-awaited promise, which in a
// Cloud Function is a write lost when the instance is frozen after the response.
import tseslint from 'typescript-eslint';

/**
 * The layers of functions/ and what each may not import (CONTRIBUTING.md, "Layers"): an arrow back up the
 * stack fails the lint. Paths are matched as written in the import, relative to the importing file.
 */
const layer = (dir) => `^(\\.\\./)+${dir}(/|\\.js$)`;
const FORBIDDEN = {
  domain: ['config', 'log', 'events', 'vendors', 'store', 'alerts', 'callbacks', 'anchors', 'services', 'handlers', 'cli', 'index'],
  events: ['config', 'vendors', 'store', 'alerts', 'callbacks', 'services', 'handlers', 'cli', 'index'],
  vendors: ['config', 'events', 'store', 'alerts', 'callbacks', 'services', 'handlers', 'cli', 'index'],
  store: ['config', 'events', 'vendors', 'alerts', 'callbacks', 'anchors', 'services', 'handlers', 'cli', 'index'],
  alerts: ['store', 'callbacks', 'services', 'handlers', 'cli', 'index'],
  callbacks: ['config', 'events', 'vendors', 'store', 'alerts', 'services', 'handlers', 'cli', 'index'],
  anchors: ['config', 'events', 'vendors', 'store', 'alerts', 'callbacks', 'services', 'handlers', 'cli', 'index'],
  services: ['handlers', 'cli', 'index'],
  handlers: ['store', 'cli', 'index'],
  cli: ['handlers', 'index'],
};
/** Nothing that deploys may reach into the developer tools or the tests. */
const OUTSIDE = { regex: '^(\\.\\./)+(local|test|bench)/', message: 'functions/ holds what deploys: it may not import local/, test/ or bench/.' };
const boundaries = Object.entries(FORBIDDEN).map(([from, banned]) => ({
  files: [`functions/${from}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...banned.map((to) => ({ regex: layer(to), message: `functions/${from}/ may not import ${to} (see CONTRIBUTING.md, Layers).` })),
          OUTSIDE,
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', '.consent-erasure/**', 'functions/events/proto/**/*.js'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
    },
  },
  {
    files: ['functions/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [OUTSIDE] }] },
  },
  ...boundaries,
  {
    // The CLI, the local stack and tests talk to a terminal.
    files: ['functions/cli/**/*.ts', 'local/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
