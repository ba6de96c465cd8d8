import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'reports/', 'coverage/', '.data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // The installed command's launcher and the install's build step: plain JavaScript run by Node.
    files: ['bin/**/*.js', 'scripts/**/*.js'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
  {
    // Config is read once, in src/config.ts; everything else receives it.
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts', 'src/lazy/scripts/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration in src/config.ts only.' }],
    },
  },
  {
    // A run's Redis keys and files are the run store's (src/jobs/store/): others ask it.
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/jobs/store/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/jobs/store/keys.js', '**/jobs/store/scripts.js', '**/store/keys.js', '**/store/scripts.js'],
              message: 'Only the run store builds run keys and scripts: use RunStore (src/jobs/store/index.ts).',
            },
          ],
        },
      ],
    },
  },
);
